package ingest_test

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/transparency-dev/merkle/rfc6962"

	"github.com/privaudit/privaudit/audit"
	"github.com/privaudit/privaudit/audit/ingest"
	"github.com/privaudit/privaudit/audit/ingest/ingesttest"
	"github.com/privaudit/privaudit/audit/proof"
)

// leafHashes reads the stored leaf hashes in index order.
func leafHashes(t *testing.T, env *ingesttest.Env) [][]byte {
	t.Helper()
	rs, err := env.Conn.Query(context.Background(), "SELECT leaf_hash FROM "+env.Schema.MetaDB+".log_leaf_rows ORDER BY leaf_index")
	if err != nil {
		t.Fatal(err)
	}
	defer rs.Close()
	var out [][]byte
	for rs.Next() {
		var s string
		if err := rs.Scan(&s); err != nil {
			t.Fatal(err)
		}
		h, err := hex.DecodeString(s)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, h)
	}
	return out
}

// checkTiles checks that log_nodes holds exactly the complete nodes of the
// tile levels of the tree over leaves, each with its in-memory hash.
func checkTiles(t *testing.T, env *ingesttest.Env, leaves [][]byte) {
	t.Helper()
	if n := env.Count(t, "SELECT count() FROM "+env.Schema.MetaDB+".log_nodes WHERE level % ? != 0", uint8(proof.TileHeight)); n != 0 {
		t.Errorf("log_nodes holds %d rows of levels that are not a multiple of %d", n, proof.TileHeight)
	}
	want := map[string]string{}
	level := leaves
	for l := 1; len(level) > 1; l++ {
		next := make([][]byte, len(level)/2)
		for i := range next {
			next[i] = rfc6962.DefaultHasher.HashChildren(level[2*i], level[2*i+1])
			if l%proof.TileHeight == 0 {
				want[fmt.Sprintf("%d/%d", l, i)] = hex.EncodeToString(next[i])
			}
		}
		level = next
	}
	rs, err := env.Conn.Query(context.Background(), "SELECT level, node_index, argMax(hash, version) FROM "+env.Schema.MetaDB+".log_nodes GROUP BY level, node_index")
	if err != nil {
		t.Fatal(err)
	}
	defer rs.Close()
	got := map[string]string{}
	for rs.Next() {
		var lvl uint8
		var idx uint64
		var h string
		if err := rs.Scan(&lvl, &idx, &h); err != nil {
			t.Fatal(err)
		}
		got[fmt.Sprintf("%d/%d", lvl, idx)] = h
	}
	for k, h := range want {
		if got[k] != h {
			t.Errorf("tree of %d leaves: tile node %s is %q in log_nodes, want %s", len(leaves), k, got[k], h)
		}
	}
	if len(got) != len(want) {
		t.Errorf("tree of %d leaves: log_nodes holds %d nodes, want the %d complete tile nodes", len(leaves), len(got), len(want))
	}
}

// TestProofLogStoresTiles: over batches whose sizes cross tile boundaries,
// log_nodes holds only the complete nodes of levels multiple of
// proof.TileHeight, with their hashes; a new process's recovery reads the
// tree's right edge from them and gets the root of the in-memory tree of
// the same leaves, and a log that recovered after a failed append carries
// on to that root too.
func TestProofLogStoresTiles(t *testing.T) {
	env := ingesttest.Start(t, ingesttest.Options{})
	ctx := context.Background()
	var n uint64
	for bi, size := range []int{1, 255, 256, 257, 1000} {
		env.Ingest(t, audit.KindEvents, proofEvents(fmt.Sprintf("tile%d", bi), size))
		n += uint64(size)
		if got := checkLog(t, env, env.Ingestor.ProofLog()); got != n {
			t.Fatalf("after batch %d the log holds %d leaves, want %d", bi, got, n)
		}
		checkTiles(t, env, leafHashes(t, env))
	}
	if rows := env.Count(t, "SELECT count() FROM "+env.Schema.MetaDB+".log_nodes"); rows != n>>8 {
		t.Fatalf("log_nodes holds %d rows for %d leaves, want %d", rows, n, n>>8)
	}
	restarted, err := ingest.NewProofLog(env.Conn, env.Schema, env.Log)
	if err != nil {
		t.Fatal(err)
	}
	if err := restarted.Ready(ctx); err != nil {
		t.Fatal(err)
	}
	checkLog(t, env, restarted)
	var failed atomic.Int32
	env.Ingestor.ProofLog().SetAfterInsert(func() error {
		if failed.CompareAndSwap(0, 1) {
			return errors.New("injected stop between insert and append")
		}
		return nil
	})
	env.Ingest(t, audit.KindEvents, proofEvents("tile-after", 300))
	if failed.Load() != 1 {
		t.Fatalf("the injected failure ran %d times, want 1", failed.Load())
	}
	if got := checkLog(t, env, env.Ingestor.ProofLog()); got != n+300 {
		t.Fatalf("after recovery the log holds %d leaves, want %d", got, n+300)
	}
	checkTiles(t, env, leafHashes(t, env))
}
