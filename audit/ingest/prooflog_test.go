package ingest_test

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/transparency-dev/merkle/compact"
	mproof "github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"

	"github.com/privaudit/privaudit/audit"
	"github.com/privaudit/privaudit/audit/ingest"
	"github.com/privaudit/privaudit/audit/ingest/ingesttest"
	"github.com/privaudit/privaudit/audit/proof"
)

// storedLeafHashes recomputes the leaf hash of every stored record from the
// table's columns, by kind and key.
func storedLeafHashes(t *testing.T, env *ingesttest.Env) map[string]string {
	t.Helper()
	ctx := context.Background()
	out := map[string]string{}
	rs, err := env.Conn.Query(ctx, "SELECT * FROM "+env.Schema.DB+".access_events FINAL")
	if err != nil {
		t.Fatal(err)
	}
	for rs.Next() {
		var e audit.StoredEvent
		if err := rs.ScanStruct(&e); err != nil {
			t.Fatal(err)
		}
		out["events/"+e.EventID] = hex.EncodeToString(audit.LeafHash(e.AppendLeaf(nil)))
	}
	rs.Close()
	if rs, err = env.Conn.Query(ctx, "SELECT * FROM "+env.Schema.DB+".consent_events FINAL"); err != nil {
		t.Fatal(err)
	}
	defer rs.Close()
	for rs.Next() {
		var c audit.StoredConsent
		if err := rs.ScanStruct(&c); err != nil {
			t.Fatal(err)
		}
		out["consents/"+c.ConsentEventID] = hex.EncodeToString(audit.LeafHash(c.AppendLeaf(nil)))
	}
	return out
}

// storedHash reads node id from the stored log (proof.TileReader).
func storedHash(t *testing.T, env *ingesttest.Env, id compact.NodeID) []byte {
	t.Helper()
	r, err := proof.NewTileReader(env.Conn, env.Schema)
	if err != nil {
		t.Fatal(err)
	}
	h, err := r.Node(context.Background(), id)
	if err != nil {
		t.Fatalf("node %d/%d: %v", id.Level, id.Index, err)
	}
	return h
}

// checkLog checks the proof log against the stored records: one leaf row
// per stored record (raw rows, not FINAL), indexes 0..n-1, each leaf hash
// the recomputed encoding of its record; the root from the stored nodes
// equals the root recomputed from all leaves and the log's own; inclusion
// proofs read from the stored nodes verify. It returns the tree size.
func checkLog(t *testing.T, env *ingesttest.Env, pl *ingest.ProofLog) uint64 {
	t.Helper()
	want := storedLeafHashes(t, env)
	rs, err := env.Conn.Query(context.Background(), "SELECT leaf_index, kind, record_key, leaf_hash FROM "+env.Schema.MetaDB+".log_leaf_rows ORDER BY leaf_index")
	if err != nil {
		t.Fatal(err)
	}
	defer rs.Close()
	full := (&compact.RangeFactory{Hash: rfc6962.DefaultHasher.HashChildren}).NewEmptyRange(0)
	seen := map[string]bool{}
	var n uint64
	for rs.Next() {
		var idx uint64
		var kind, key, hash string
		if err := rs.Scan(&idx, &kind, &key, &hash); err != nil {
			t.Fatal(err)
		}
		if idx != n {
			t.Fatalf("leaf row %d has index %d: indexes must be 0..n-1, each once", n, idx)
		}
		n++
		k := kind + "/" + key
		if seen[k] {
			t.Errorf("record %s has two leaves", k)
		}
		seen[k] = true
		if want[k] != hash {
			t.Errorf("leaf %d (%s): hash %s, recomputed from the stored row %q", idx, k, hash, want[k])
		}
		h, _ := hex.DecodeString(hash)
		if err := full.Append(h, nil); err != nil {
			t.Fatal(err)
		}
	}
	for k := range want {
		if !seen[k] {
			t.Errorf("stored record %s has no leaf", k)
		}
	}
	if n == 0 {
		t.Fatal("the log is empty")
	}
	recomputed, _ := full.GetRootHash(nil)
	var hashes [][]byte
	for _, id := range compact.RangeNodes(0, n, nil) {
		hashes = append(hashes, storedHash(t, env, id))
	}
	stored, err := (&compact.RangeFactory{Hash: rfc6962.DefaultHasher.HashChildren}).NewRange(0, n, hashes)
	if err != nil {
		t.Fatal(err)
	}
	root, _ := stored.GetRootHash(nil)
	if hex.EncodeToString(root) != hex.EncodeToString(recomputed) {
		t.Errorf("root from stored nodes %x, recomputed from the leaves %x", root, recomputed)
	}
	if size, own, err := pl.State(); err != nil || size != n || hex.EncodeToString(own) != hex.EncodeToString(root) {
		t.Errorf("log state: size %d root %x (%v), want %d %x", size, own, err, n, root)
	}
	for _, idx := range []uint64{0, n / 2, n - 1} {
		checkInclusion(t, env, idx, n, root)
	}
	return n
}

// checkInclusion builds the inclusion proof of leaf idx from stored nodes
// only and verifies it against root.
func checkInclusion(t *testing.T, env *ingesttest.Env, idx, size uint64, root []byte) {
	t.Helper()
	nodes, err := mproof.Inclusion(idx, size)
	if err != nil {
		t.Fatal(err)
	}
	var hashes [][]byte
	for _, id := range nodes.IDs {
		hashes = append(hashes, storedHash(t, env, id))
	}
	p, err := nodes.Rehash(hashes, rfc6962.DefaultHasher.HashChildren)
	if err != nil {
		t.Fatal(err)
	}
	leaf := storedHash(t, env, compact.NewNodeID(0, idx))
	if err := mproof.VerifyInclusion(rfc6962.DefaultHasher, idx, size, leaf, p, root); err != nil {
		t.Errorf("inclusion of leaf %d in size %d: %v", idx, size, err)
	}
}

func proofEvents(prefix string, n int) string {
	var b strings.Builder
	for i := range n {
		b.WriteString(ingesttest.WireEvent(fmt.Sprintf("%s-%d", prefix, i), fmt.Sprintf("cust-%d", i%7), "acme", "marketing", "",
			verdictBase.Add(time.Duration(i)*time.Minute), "contact") + "\n")
	}
	return b.String()
}

func proofConsents(prefix string, n int) string {
	var b strings.Builder
	for i := range n {
		b.WriteString(ingesttest.WireConsent(fmt.Sprintf("%s-%d", prefix, i), fmt.Sprintf("c-%d", i), fmt.Sprintf("cust-%d", i%7), "acme", "granted",
			verdictBase.Add(-time.Duration(i+1)*time.Hour), []string{"marketing"}, []string{"contact"}) + "\n")
	}
	return b.String()
}

func countRaw(t *testing.T, env *ingesttest.Env) uint64 {
	return env.Count(t, "SELECT count() FROM "+env.Schema.MetaDB+".log_leaf_rows")
}

// TestProofLogSealsStoredRecords: every stored record of both kinds is one
// leaf, and a duplicate resend or a partly repeated request adds leaves
// only for the records actually inserted.
func TestProofLogSealsStoredRecords(t *testing.T) {
	env := ingesttest.Start(t, ingesttest.Options{})
	pl := env.Ingestor.ProofLog()
	env.Ingest(t, audit.KindConsents, proofConsents("pc", 20))
	env.Ingest(t, audit.KindEvents, proofEvents("pe", 50))
	if n := checkLog(t, env, pl); n != 70 {
		t.Fatalf("log size %d, want 70", n)
	}
	env.Ingest(t, audit.KindEvents, proofEvents("pe", 50))     // a duplicate resend
	env.Ingest(t, audit.KindConsents, proofConsents("pc", 20)) // and of the consents
	if n := countRaw(t, env); n != 70 {
		t.Fatalf("after a duplicate resend the log holds %d leaf rows, want 70", n)
	}
	env.Ingest(t, audit.KindEvents, proofEvents("pe", 60)) // 50 repeated, 10 new
	if n := checkLog(t, env, pl); n != 80 {
		t.Fatalf("log size %d, want 80", n)
	}
}

// TestProofLogRecoversAfterFailedAppend: a writer that stops between the
// insert and the append (here: an error) leaves stored records without
// leaves; its retry finds them stored, and the log's recovery gives each
// its leaf exactly once.
func TestProofLogRecoversAfterFailedAppend(t *testing.T) {
	env := ingesttest.Start(t, ingesttest.Options{})
	pl := env.Ingestor.ProofLog()
	var failed atomic.Int32
	pl.SetAfterInsert(func() error {
		if failed.CompareAndSwap(0, 1) {
			return errors.New("injected stop between insert and append")
		}
		return nil
	})
	env.Ingest(t, audit.KindEvents, proofEvents("fa", 30))
	if failed.Load() != 1 {
		t.Fatalf("the injected failure ran %d times, want 1", failed.Load())
	}
	if n := checkLog(t, env, pl); n != 30 {
		t.Fatalf("log size %d, want 30", n)
	}
}

// TestProofLogRecoversOnRestart: a process stopped between the insert and
// the append (its writer held there) leaves stored records without leaves.
// Another process, which did not accept them, does not seal them when it
// starts; the held one, when it resumes, replays its batch from its spool,
// finds the records stored, and seals each once.
func TestProofLogRecoversOnRestart(t *testing.T) {
	env := ingesttest.Start(t, ingesttest.Options{})
	resume := heldAfterInsert(t, env, "rs", 40)
	if n := countRaw(t, env); n != 0 {
		t.Fatalf("held writer: %d leaves, want 0", n)
	}
	ctx := context.Background()
	second := openAnother(t, env)
	if err := second.ProofLog().Ready(ctx); err != nil {
		t.Fatal(err)
	}
	if n := countRaw(t, env); n != 0 {
		t.Fatalf("a process that did not accept the records sealed %d of them at its start", n)
	}
	resume()
	if n := checkLog(t, env, env.Ingestor.ProofLog()); n != 40 {
		t.Fatalf("after the held writer replayed its batch the log holds %d leaves, want 40", n)
	}
}

// TestProofLogReplaySealsOnlyUnchangedRecords: a record changed in
// ClickHouse between its batch's insert and the replay that seals it stays
// without a leaf (verify names it); the batch's other records are sealed.
func TestProofLogReplaySealsOnlyUnchangedRecords(t *testing.T) {
	env := ingesttest.Start(t, ingesttest.Options{})
	resume := heldAfterInsert(t, env, "ch", 40)
	changed := ingesttest.UID("ch-7")
	if err := env.Conn.Exec(context.Background(), "ALTER TABLE "+env.Schema.DB+".access_events UPDATE purpose = 'fraud' WHERE event_id = ?", changed); err != nil {
		t.Fatal(err)
	}
	pollCount(t, env, "SELECT count() FROM "+env.Schema.DB+".access_events WHERE purpose = 'fraud'", 1)
	resume()
	if n := countRaw(t, env); n != 39 {
		t.Fatalf("after the replay the log holds %d leaves, want 39", n)
	}
	if n := env.Count(t, "SELECT count() FROM "+env.Schema.MetaDB+".log_leaf_rows WHERE record_key = '"+changed+"'"); n != 0 {
		t.Fatalf("the changed record has %d leaves, want none", n)
	}
}

// TestProofLogSealsNothingWrittenOutside: records written into ClickHouse
// by anything but privaudit get no leaf when privaudit restarts, even in
// a batch that has leaves (so verify names them); privaudit seal-stored
// (SealUnlogged) seals them, each once, however often it runs.
func TestProofLogSealsNothingWrittenOutside(t *testing.T) {
	env := ingesttest.Start(t, ingesttest.Options{})
	env.Ingest(t, audit.KindEvents, proofEvents("lb", 20))
	env.Ingest(t, audit.KindConsents, proofConsents("lc", 6))
	copyLate(t, env, "access_events", "event_id", 3)
	copyLate(t, env, "consent_events", "consent_event_id", 2)
	ctx := context.Background()
	restarted := openAnother(t, env)
	if err := restarted.ProofLog().Ready(ctx); err != nil {
		t.Fatal(err)
	}
	if n := countRaw(t, env); n != 26 {
		t.Fatalf("after a restart the log holds %d leaves, want the 26 privaudit accepted", n)
	}
	for round := range 2 {
		n, err := restarted.ProofLog().SealUnlogged(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if want := []int{5, 0}[round]; n != want {
			t.Errorf("SealUnlogged round %d sealed %d records, want %d", round, n, want)
		}
		if got := checkLog(t, env, restarted.ProofLog()); got != 31 {
			t.Fatalf("round %d: the log holds %d leaves, want 31", round, got)
		}
	}
}

// heldAfterInsert posts n events (keys prefix-i) to a writer held between
// their insert and their append, and waits until they are stored. resume
// lets the held writer fail the append, so it replays the batch, and
// waits until everything is stored.
func heldAfterInsert(t *testing.T, env *ingesttest.Env, prefix string, n int) (resume func()) {
	t.Helper()
	hold := make(chan struct{})
	env.Ingestor.ProofLog().SetAfterInsert(func() error {
		<-hold
		return errors.New("stopped between insert and append")
	})
	if code, body := env.Post(t, audit.KindEvents, proofEvents(prefix, n)); code != 200 {
		t.Fatalf("post: %d %s", code, body)
	}
	pollCount(t, env, "SELECT count() FROM "+env.Schema.DB+".access_events", uint64(n))
	return func() {
		env.Ingestor.ProofLog().SetAfterInsert(func() error { return nil })
		close(hold)
		env.WaitStored(t)
	}
}

func pollCount(t *testing.T, env *ingesttest.Env, sql string, want uint64) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		n := env.Count(t, sql)
		if n == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %d, want %d within a minute", sql, n, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// openAnother opens a second ingestor on env's database, with a spool of
// its own, as another process (or a restarted one) would; not started.
func openAnother(t *testing.T, env *ingesttest.Env) *ingest.Ingestor {
	t.Helper()
	in, err := ingest.Open(context.Background(), ingest.Options{SpoolDir: filepath.Join(t.TempDir(), "spool"), Conn: env.Conn, Schema: env.Schema,
		Logger: env.Log, Linger: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = in.Close(context.Background()) })
	return in
}

// copyLate stores copies of the first n records of table under new keys
// (key + "-late"), in the same batches, as a later block of them would be.
func copyLate(t *testing.T, env *ingesttest.Env, table, key string, n int) {
	t.Helper()
	ctx := context.Background()
	rs, err := env.Conn.Query(ctx, "SELECT name FROM system.columns WHERE database = ? AND table = ?", env.Schema.DB, table)
	if err != nil {
		t.Fatal(err)
	}
	var cols []string
	for rs.Next() {
		var c string
		if err := rs.Scan(&c); err != nil {
			t.Fatal(err)
		}
		if c == key {
			c = "concat(" + key + ", '-late')"
		}
		cols = append(cols, c)
	}
	rs.Close()
	src := env.Schema.DB + "." + table
	sql := fmt.Sprintf("INSERT INTO %s SELECT %s FROM %s WHERE %s IN (SELECT %s FROM %s ORDER BY %s LIMIT %d)",
		src, strings.Join(cols, ", "), src, key, key, src, key, n)
	if err := env.Conn.Exec(ctx, sql); err != nil {
		t.Fatal(err)
	}
}
