package proof_test

import (
	"context"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/transparency-dev/merkle/compact"
	mproof "github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"

	"github.com/privaudit/privaudit/audit"
	"github.com/privaudit/privaudit/audit/ingest"
	"github.com/privaudit/privaudit/audit/ingest/ingesttest"
	"github.com/privaudit/privaudit/audit/proof"
)

// tiledLog is a stored log of 600 access events, appended in batches of
// 1, 255, 256 and 88 leaves, under one checkpoint of size 600.
func tiledLog(t *testing.T) *provedLog {
	t.Helper()
	env := ingesttest.Start(t, ingesttest.Options{})
	key, _ := newKey(t, "bank.example/privaudit")
	vkey := key.Verifier
	for bi, n := range []int{1, 255, 256, 88} {
		var body strings.Builder
		for i := range n {
			body.WriteString(ingesttest.WireEvent(fmt.Sprintf("t%d-%d", bi, i), fmt.Sprintf("cust-%d", i%5), "acme", "marketing", "",
				base.Add(time.Duration(i)*time.Minute), "contact") + "\n")
		}
		env.Ingest(t, audit.KindEvents, body.String())
	}
	cp, err := ingest.NewCheckpointer(ingest.CheckpointOptions{Log: env.Ingestor.ProofLog(), Key: key, Conn: env.Conn, Schema: env.Schema})
	if err != nil {
		t.Fatal(err)
	}
	if signed, err := cp.Checkpoint(context.Background()); err != nil || signed == nil {
		t.Fatalf("checkpoint: %v", err)
	}
	if size, _, _ := env.Ingestor.ProofLog().State(); size != 600 {
		t.Fatalf("tree size %d, want 600", size)
	}
	return &provedLog{env: env, vkey: vkey, sizes: []uint64{600}}
}

// proveLeaves proves each leaf of idxs under the checkpoint and verifies
// the proof offline.
func (l *provedLog) proveLeaves(t *testing.T, idxs []uint64) {
	t.Helper()
	keys := map[uint64]string{}
	rs, err := l.env.Conn.Query(context.Background(), "SELECT leaf_index, record_key FROM "+l.env.Schema.MetaDB+".log_leaf_rows")
	if err != nil {
		t.Fatal(err)
	}
	for rs.Next() {
		var idx uint64
		var key string
		if err := rs.Scan(&idx, &key); err != nil {
			t.Fatal(err)
		}
		keys[idx] = key
	}
	rs.Close()
	for _, idx := range idxs {
		file, _, err := l.prove(keys[idx], 600)
		if err != nil {
			t.Fatalf("prove leaf %d: %v", idx, err)
		}
		res, err := audit.VerifyInclusionProof(file, l.vkey)
		if err != nil || res.LeafIndex != idx || res.TreeSize != 600 {
			t.Fatalf("verify leaf %d: %+v, %v", idx, res, err)
		}
	}
}

// TestProveEveryLeafFromTiles: with log_nodes holding only tile rows, the
// proof of every leaf of a 600-leaf tree verifies offline.
func TestProveEveryLeafFromTiles(t *testing.T) {
	l := tiledLog(t)
	if n := l.env.Count(t, "SELECT count() FROM "+l.env.Schema.MetaDB+".log_nodes WHERE level != 8"); n != 0 {
		t.Fatalf("log_nodes holds %d rows besides level 8", n)
	}
	all := make([]uint64, 600)
	for i := range all {
		all[i] = uint64(i)
	}
	l.proveLeaves(t, all)
}

// TestProveReadsLogsWithEveryNode: a log written when log_nodes held every
// interior node (the rows are added here, as that writer stored them)
// still proves, and a new process recovers it to the checkpoint's root.
func TestProveReadsLogsWithEveryNode(t *testing.T) {
	l := tiledLog(t)
	ctx := context.Background()
	var hashes [][]byte
	rs, err := l.env.Conn.Query(ctx, "SELECT leaf_hash FROM "+l.env.Schema.MetaDB+".log_leaf_rows ORDER BY leaf_index")
	if err != nil {
		t.Fatal(err)
	}
	for rs.Next() {
		var s string
		if err := rs.Scan(&s); err != nil {
			t.Fatal(err)
		}
		h, _ := hex.DecodeString(s)
		hashes = append(hashes, h)
	}
	rs.Close()
	b, err := l.env.Conn.PrepareBatch(ctx, "INSERT INTO "+l.env.Schema.MetaDB+".log_nodes (level, node_index, hash, version)")
	if err != nil {
		t.Fatal(err)
	}
	rows := 0
	for level := uint8(1); len(hashes) > 1; level++ {
		for i := range len(hashes) / 2 {
			hashes[i] = rfc6962.DefaultHasher.HashChildren(hashes[2*i], hashes[2*i+1])
			if level%proof.TileHeight != 0 {
				if err := b.Append(level, uint64(i), hex.EncodeToString(hashes[i]), uint64(1)); err != nil {
					t.Fatal(err)
				}
				rows++
			}
		}
		hashes = hashes[:len(hashes)/2]
	}
	if err := b.Send(); err != nil {
		t.Fatal(err)
	}
	if n := l.env.Count(t, "SELECT count() FROM "+l.env.Schema.MetaDB+".log_nodes"); n != uint64(rows)+2 {
		t.Fatalf("log_nodes holds %d rows, want every interior node of 600 leaves (%d)", n, rows+2)
	}
	l.proveLeaves(t, []uint64{0, 1, 127, 255, 256, 300, 511, 512, 575, 576, 598, 599})
	restarted, err := ingest.NewProofLog(l.env.Conn, l.env.Schema, l.env.Log)
	if err != nil {
		t.Fatal(err)
	}
	if err := restarted.Ready(ctx); err != nil {
		t.Fatal(err)
	}
	_, want, _ := l.env.Ingestor.ProofLog().State()
	if size, root, err := restarted.State(); err != nil || size != 600 || hex.EncodeToString(root) != hex.EncodeToString(want) {
		t.Fatalf("recovered size %d root %x (%v), want 600 %x", size, root, err, want)
	}
}

// TestTileReaderRefusesMissingOrRepeated: a node computed from a tile
// with a repeated leaf row, or whose stored tile node is gone, is an
// error naming the stored node and saying to run privaudit verify.
func TestTileReaderRefusesMissingOrRepeated(t *testing.T) {
	l := tiledLog(t)
	ctx := context.Background()
	r, err := proof.NewTileReader(l.env.Conn, l.env.Schema)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.env.Conn.Exec(ctx, copyLeafSQL(l.env.Schema.MetaDB, 3, "leaf_index = 3")); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Node(ctx, compact.NewNodeID(1, 1)); err == nil || !strings.Contains(err.Error(), "stored node 0/3 is repeated") || !strings.Contains(err.Error(), "privaudit verify") {
		t.Fatalf("node 1/1 over a repeated leaf 3: %v", err)
	}
	if err := l.env.Conn.Exec(ctx, "ALTER TABLE "+l.env.Schema.MetaDB+".log_nodes DELETE WHERE level = 8 AND node_index = 0"); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(2 * time.Minute)
	for l.env.Count(t, "SELECT count() FROM "+l.env.Schema.MetaDB+".log_nodes WHERE level = 8 AND node_index = 0") != 0 {
		if time.Now().After(deadline) {
			t.Fatal("the ALTER DELETE mutation did not finish within 2 minutes")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if _, err := r.Node(ctx, compact.NewNodeID(9, 0)); err == nil || !strings.Contains(err.Error(), "stored node 8/0 is missing") || !strings.Contains(err.Error(), "privaudit verify") {
		t.Fatalf("node 9/0 without node 8/0: %v", err)
	}
	if _, _, err := l.prove(l.keyAt(t, 300), 600); err == nil || !strings.Contains(err.Error(), "stored node 8/0 is missing") {
		t.Fatalf("prove leaf 300 without node 8/0: %v", err)
	}
}

// countingConn counts the queries sent through it.
type countingConn struct {
	driver.Conn
	queries int
}

func (c *countingConn) Query(ctx context.Context, q string, args ...any) (driver.Rows, error) {
	c.queries++
	return c.Conn.Query(ctx, q, args...)
}

// TestNodesReadEachTileOnce: the inclusion path of leaf 300 of 600 has
// nodes in three tiles (leaves 256-511, leaves 512-599, and level 8's
// first), so Nodes reads three times, not once per node (a read of leaves
// takes seconds at 10M); each hash is the one Node computes alone.
func TestNodesReadEachTileOnce(t *testing.T) {
	l := tiledLog(t)
	ctx := context.Background()
	counted := &countingConn{Conn: l.env.Conn}
	r, err := proof.NewTileReader(counted, l.env.Schema)
	if err != nil {
		t.Fatal(err)
	}
	path, err := mproof.Inclusion(300, 600)
	if err != nil {
		t.Fatal(err)
	}
	hashes, err := r.Nodes(ctx, path.IDs)
	if err != nil {
		t.Fatal(err)
	}
	if counted.queries != 3 {
		t.Errorf("Nodes of %d path nodes sent %d queries, want 3 (one per tile)", len(path.IDs), counted.queries)
	}
	for i, id := range path.IDs {
		h, err := r.Node(ctx, id)
		if err != nil || hex.EncodeToString(h) != hex.EncodeToString(hashes[i]) {
			t.Errorf("node %d/%d: Nodes gave %x, Node %x (%v)", id.Level, id.Index, hashes[i], h, err)
		}
	}
	if _, _, err := l.prove(l.keyAt(t, 300), 600); err != nil {
		t.Fatalf("prove leaf 300: %v", err)
	}
}

// TestTileReadSkipsOtherRuns: reading a tile reads the granules of runs
// that can hold its leaves, not the whole log (a run holds a batch's
// leaves, and the log grows without bound): reading leaves 376-383 of a
// log of 48 runs of 8 reads under half the bytes of all runs.
func TestTileReadSkipsOtherRuns(t *testing.T) {
	env := ingesttest.Start(t, ingesttest.Options{})
	for b := range 48 {
		var body strings.Builder
		for i := range 8 {
			body.WriteString(ingesttest.WireEvent(fmt.Sprintf("g%d-%d", b, i), "cust-1", "acme", "marketing", "",
				base.Add(time.Duration(8*b+i)*time.Minute), "contact") + "\n")
		}
		env.Ingest(t, audit.KindEvents, body.String())
	}
	if got := env.Count(t, "SELECT count() FROM "+env.Schema.MetaDB+".log_runs"); got != 48 {
		t.Fatalf("%d runs, want 48", got)
	}
	read := func(f func(ctx context.Context) error) uint64 {
		var bytes uint64
		ctx := clickhouse.Context(context.Background(), clickhouse.WithProgress(func(p *clickhouse.Progress) { bytes += p.Bytes }))
		if err := f(ctx); err != nil {
			t.Fatal(err)
		}
		return bytes
	}
	all := read(func(ctx context.Context) error {
		return env.Conn.Exec(ctx, "SELECT * FROM "+env.Schema.MetaDB+".log_runs FORMAT Null")
	})
	r, err := proof.NewTileReader(env.Conn, env.Schema)
	if err != nil {
		t.Fatal(err)
	}
	tile := read(func(ctx context.Context) error {
		_, err := r.Node(ctx, compact.NewNodeID(3, 47))
		return err
	})
	if all == 0 || tile > all/2 {
		t.Errorf("reading leaves 376-383 read %d bytes, reading every run %d: want under half", tile, all)
	}
}
