package proof_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/privaudit/privaudit/audit"
	"github.com/privaudit/privaudit/audit/ingest"
	"github.com/privaudit/privaudit/audit/ingest/ingesttest"
	"github.com/privaudit/privaudit/audit/proof"
	"github.com/privaudit/privaudit/audit/retention"
)

// logEnv is an intake with the proof log, a proof key, and checkpoints
// exported to a folder.
type logEnv struct {
	*ingesttest.Env
	key       *audit.ProofKey
	verifier  note.Verifier
	vkey      string
	cp        *ingest.Checkpointer
	exportDir string
}

func startLog(t *testing.T) *logEnv {
	t.Helper()
	return startLogWith(t, ingesttest.Options{})
}

func startLogWith(t *testing.T, o ingesttest.Options) *logEnv {
	t.Helper()
	e := &logEnv{Env: ingesttest.Start(t, o), exportDir: filepath.Join(t.TempDir(), "exported")}
	e.key, e.verifier = newKey(t, "bank.example/privaudit")
	e.vkey = e.key.Verifier
	var err error
	e.cp, err = ingest.NewCheckpointer(ingest.CheckpointOptions{Log: e.Ingestor.ProofLog(), Key: e.key, Conn: e.Conn, Schema: e.Schema, ExportDir: e.exportDir})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func newKey(t *testing.T, name string) (*audit.ProofKey, note.Verifier) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "proof.key")
	vkey, err := audit.CreateProofKey(path, name)
	if err != nil {
		t.Fatal(err)
	}
	k, err := audit.LoadProofKey(path)
	if err != nil {
		t.Fatal(err)
	}
	v, err := note.NewVerifier(vkey)
	if err != nil {
		t.Fatal(err)
	}
	return k, v
}

// checkpoint signs a checkpoint of everything stored.
func (e *logEnv) checkpoint(t *testing.T) {
	t.Helper()
	if signed, err := e.cp.Checkpoint(context.Background()); err != nil || signed == nil {
		t.Fatalf("checkpoint: %v (signed %q)", err, signed)
	}
}

// ingestStory stores consents (grants and withdrawals) and access events,
// 5 of them in January 2020, in three batches with a checkpoint after each.
func (e *logEnv) ingestStory(t *testing.T) {
	t.Helper()
	at := time.Date(2026, 10, 1, 9, 0, 0, 0, time.UTC)
	var consents []string
	for i := range 8 {
		status := "granted"
		if i%3 == 2 {
			status = "withdrawn"
		}
		consents = append(consents, ingesttest.WireConsent(fmt.Sprintf("c-%d", i), fmt.Sprintf("consent-%d", i/3), fmt.Sprintf("cust-%d", i/3), "acme", status,
			at.Add(time.Duration(i)*time.Hour), []string{"marketing"}, []string{"contact"}))
	}
	e.Ingest(t, audit.KindConsents, strings.Join(consents, "\n"))
	e.checkpoint(t)
	for batch := range 2 {
		var events []string
		for i := range 20 {
			n := batch*20 + i
			when := at.Add(time.Duration(n) * time.Minute)
			if n >= 35 {
				when = time.Date(2020, 1, 10+n-35, 8, 0, 0, 0, time.UTC)
			}
			events = append(events, ingesttest.WireEvent(fmt.Sprintf("e-%d", n), fmt.Sprintf("cust-%d", n%3), "acme", "marketing", "", when, "contact"))
		}
		e.Ingest(t, audit.KindEvents, strings.Join(events, "\n"))
		e.checkpoint(t)
	}
}

// verify runs proof.Verify with the exported checkpoints.
func (e *logEnv) verify(t *testing.T, v note.Verifier) *proof.Result {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(e.exportDir, "checkpoint-*.txt"))
	var ext []proof.External
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		ext = append(ext, proof.External{Name: filepath.Base(f), Note: b})
	}
	res, err := proof.Verify(context.Background(), proof.Options{Conn: e.Conn, Scan: e.Scan, Schema: e.Schema, Verifier: v, External: ext,
		Drops: func(ctx context.Context) ([]audit.SealedDrop, error) {
			return retention.SealedDrops(ctx, e.Conn, e.Schema, e.vkey)
		}})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// exec runs a statement and waits for the mutations it starts.
func (e *logEnv) exec(t *testing.T, sql string, args ...any) {
	t.Helper()
	ctx := context.Background()
	if err := e.Conn.Exec(ctx, sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	deadline := time.Now().Add(2 * time.Minute)
	for e.Count(t, "SELECT count() FROM system.mutations WHERE is_done = 0") > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%s: mutation not done after 2 minutes", sql)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// client runs sql with clickhouse-client, as someone with write access to
// ClickHouse would.
func (e *logEnv) client(t *testing.T, sql string) {
	t.Helper()
	host, port, _ := net.SplitHostPort(e.CH.Addr)
	out, err := exec.Command("clickhouse-client", "--host", host, "--port", port, "--user", e.CH.AdminUser,
		"--password", e.CH.AdminPassword, "--query", sql).CombinedOutput()
	if err != nil {
		t.Fatalf("clickhouse-client %s: %v\n%s", sql, err, out)
	}
}

// names lists the findings as "kind table key" (and "leaf=N" for a leaf
// finding), sorted, checking that every record finding names its batch.
func names(t *testing.T, r *proof.Result) []string {
	t.Helper()
	var out []string
	for _, f := range r.Findings {
		s := string(f.Kind) + " " + f.Table + " " + f.Key
		if f.Kind == proof.LeafMissing {
			s += fmt.Sprintf(" leaf=%d", f.Leaf)
		}
		if slices.Contains([]proof.FindingKind{proof.Altered, proof.Deleted, proof.Inserted}, f.Kind) && f.Batch == "" {
			t.Errorf("finding %v does not name its batch", f)
		}
		out = append(out, s)
	}
	slices.Sort(out)
	if uint64(len(r.Findings)) != r.Total() {
		t.Errorf("%d findings listed, %d counted", len(r.Findings), r.Total())
	}
	return out
}

// copyLeafSQL stores a copy of the leaf that where picks (a condition on
// log_leaf_rows) as a run of its own at index at, as anyone with write
// access to ClickHouse could.
func copyLeafSQL(meta string, at uint64, where string) string {
	return "INSERT INTO " + meta + ".log_runs (first_leaf, leaf_count, kind, batch_id, record_keys, leaf_hashes, appended_at) " +
		"SELECT " + fmt.Sprint(at) + ", 1, kind, batch_id, [record_key], [toFixedString(unhex(leaf_hash), 32)], appended_at FROM " + meta + ".log_leaf_rows WHERE " + where
}

// removeLeaf removes one leaf from its run, as anyone with write access to
// ClickHouse could: the run keeps the leaves before it, and the ones after
// it move to a run of their own, at their indexes.
func (e *logEnv) removeLeaf(t *testing.T, leaf uint64) {
	t.Helper()
	runs := e.Schema.MetaDB + ".log_runs"
	first := e.Count(t, "SELECT any(first_leaf) FROM "+runs+" WHERE first_leaf <= ? AND first_leaf + leaf_count > ?", leaf, leaf)
	p := leaf - first
	e.exec(t, "INSERT INTO "+runs+" (first_leaf, leaf_count, kind, batch_id, record_keys, leaf_hashes, appended_at) "+
		"SELECT first_leaf + ? + 1, leaf_count - ? - 1, kind, batch_id, arraySlice(record_keys, ? + 2), arraySlice(leaf_hashes, ? + 2), appended_at FROM "+runs+
		" WHERE first_leaf = ? AND leaf_count > ? + 1", p, p, p, p, first, p)
	e.exec(t, "ALTER TABLE "+runs+" UPDATE record_keys = arraySlice(record_keys, 1, ?), leaf_hashes = arraySlice(leaf_hashes, 1, ?), leaf_count = toUInt32(?) WHERE first_leaf = ?", p, p, p, first)
}

func leafOf(t *testing.T, e *logEnv, kind, key string) uint64 {
	t.Helper()
	return e.Count(t, "SELECT any(leaf_index) FROM "+e.Schema.MetaDB+".log_leaf_rows WHERE kind = ? AND record_key = ?", kind, key)
}

// TestVerifyCatchesTampering shows verify clean on an honest log, then
// catches each change made outside privaudit, naming the record: every
// step adds exactly its own findings to the ones before.
func TestVerifyCatchesTampering(t *testing.T) {
	e := startLog(t)
	e.ingestStory(t)
	res := e.verify(t, e.verifier)
	if !res.Clean() || !res.Digest || res.TreeSize != 48 || res.Latest == nil || res.Latest.Size != 48 || res.Externals != 3 || res.Checkpoints != 3 || res.Records != 48 {
		t.Fatalf("honest log: clean %v, by digest %v, findings %v, size %d, latest %+v, externals %d, checkpoints %d, records %d",
			res.Clean(), res.Digest, names(t, res), res.TreeSize, res.Latest, res.Externals, res.Checkpoints, res.Records)
	}
	db, meta := e.Schema.DB, e.Schema.MetaDB
	uid := ingesttest.UID
	var want []string
	step := func(name string, tamper func(), adds ...string) {
		t.Helper()
		tamper()
		want = append(want, adds...)
		slices.Sort(want)
		if got := names(t, e.verify(t, e.verifier)); !slices.Equal(got, want) {
			t.Fatalf("after %s:\n got %q\nwant %q", name, got, want)
		}
	}
	step("ALTER UPDATE of an access event", func() {
		e.exec(t, "ALTER TABLE "+db+".access_events UPDATE purpose = 'fraud_prevention' WHERE event_id = ?", uid("e-3"))
	}, "altered access_events "+uid("e-3"))
	step("ALTER UPDATE of a consent withdrawal", func() {
		e.exec(t, "ALTER TABLE "+db+".consent_events UPDATE status = 'granted' WHERE consent_event_id = ?", uid("c-2"))
	}, "altered consent_events "+uid("c-2"))
	step("ALTER DELETE of an access event", func() {
		e.exec(t, "ALTER TABLE "+db+".access_events DELETE WHERE event_id = ?", uid("e-5"))
	}, "deleted access_events "+uid("e-5"))
	forged := "00000000-0000-4000-8000-f0f0f0f0f0f0"
	step("a row inserted with clickhouse-client", func() {
		e.client(t, "INSERT INTO "+db+".access_events (event_id, occurred_at, subject_id, recipient_id, purpose, batch_id) VALUES ('"+
			forged+"', '2026-10-02 10:00:00', 'cust-1', 'acme', 'marketing', 'handmade-batch')")
	}, "inserted access_events "+forged)
	step("a copy of a row inserted with clickhouse-client", func() {
		e.client(t, "INSERT INTO "+db+".access_events SELECT * FROM "+db+".access_events WHERE event_id = '"+uid("e-7")+"'")
	}, "copied access_events "+uid("e-7"))
	var old []string
	for n := 35; n < 40; n++ {
		old = append(old, "deleted access_events "+uid(fmt.Sprintf("e-%d", n)))
	}
	step("a partition dropped by hand", func() {
		e.exec(t, "ALTER TABLE "+db+".access_events DROP PARTITION 202001")
	}, old...)
	leaf := leafOf(t, e, "events", uid("e-9"))
	step("a leaf removed", func() {
		e.removeLeaf(t, leaf)
	}, fmt.Sprintf("leaf_missing   leaf=%d", leaf), "inserted access_events "+uid("e-9"))
	step("a checkpoint removed", func() {
		e.exec(t, "ALTER TABLE "+meta+".log_checkpoints DELETE WHERE tree_size = 8")
	}, "checkpoint_missing  checkpoint-8.txt")
	other, _ := newKey(t, "bank.example/privaudit")
	step("a checkpoint forged with another key", func() {
		signed, err := other.SignCheckpoint(3, make([]byte, 32))
		if err != nil {
			t.Fatal(err)
		}
		e.exec(t, "INSERT INTO "+meta+".log_checkpoints (tree_size, root_hash, note, signed_at) SELECT 3, ?, ?, now()", strings.Repeat("00", 32), string(signed))
	}, "checkpoint_forged  stored checkpoint 3")
}

// TestVerifyCatchesRecordAndLeafCopied: a record copied together with its
// leaf (appended at the end of the log, past every checkpoint) leaves the
// digest of records and leaves equal; verify must still see the record
// logged twice.
func TestVerifyCatchesRecordAndLeafCopied(t *testing.T) {
	e := startLog(t)
	e.ingestStory(t)
	db, meta := e.Schema.DB, e.Schema.MetaDB
	key := ingesttest.UID("e-11")
	e.client(t, "INSERT INTO "+db+".access_events SELECT * FROM "+db+".access_events WHERE event_id = '"+key+"'")
	e.client(t, copyLeafSQL(meta, 48, "record_key = '"+key+"'"))
	res := e.verify(t, e.verifier)
	if got, want := names(t, res), []string{"copied access_events " + key}; !slices.Equal(got, want) || res.Digest || res.TreeSize != 49 {
		t.Fatalf("record and leaf copied: findings %q (want %q), by digest %v, tree size %d", got, want, res.Digest, res.TreeSize)
	}
}

// TestVerifyCountsMissingLeavesWithoutListingEach: a leaf row written far
// past the log's end makes every index between missing; verify counts
// them at once instead of walking each.
func TestVerifyCountsMissingLeavesWithoutListingEach(t *testing.T) {
	e := startLog(t)
	e.ingestStory(t)
	const far = 1 << 40
	e.client(t, copyLeafSQL(e.Schema.MetaDB, far, "leaf_index = 0"))
	res := e.verify(t, e.verifier)
	if res.Counts[proof.LeafMissing] != far-48 || len(res.Findings) > 1000 || res.TreeSize != far+1 {
		t.Fatalf("leaf at %d: %d missing counted (want %d), %d listed, tree size %d", uint64(far), res.Counts[proof.LeafMissing], uint64(far-48), len(res.Findings), res.TreeSize)
	}
}

// TestVerifyCatchesTreeRebuiltWithNewKey: someone with write access to
// ClickHouse and the machine changes a consent withdrawal, rebuilds the
// whole tree from the altered records and signs it with a new key. The log
// is consistent under the new key, but the checkpoints exported before no
// longer verify; under the old verifier key, no stored checkpoint does.
func TestVerifyCatchesTreeRebuiltWithNewKey(t *testing.T) {
	e := startLog(t)
	e.ingestStory(t)
	if res := e.verify(t, e.verifier); !res.Clean() {
		t.Fatalf("honest log: %q", names(t, res))
	}
	ctx := context.Background()
	db, meta := e.Schema.DB, e.Schema.MetaDB
	e.exec(t, "ALTER TABLE "+db+".consent_events UPDATE status = 'granted' WHERE consent_event_id = ?", ingesttest.UID("c-2"))
	for _, tbl := range []string{"log_runs", "log_nodes", "log_checkpoints"} {
		e.exec(t, "TRUNCATE TABLE "+meta+"."+tbl)
	}
	newKey, newVerifier := newKey(t, "bank.example/privaudit")
	pl, err := ingest.NewProofLog(e.Conn, e.Schema, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pl.SealUnlogged(ctx); err != nil { // privaudit seal-stored, over the emptied log
		t.Fatal(err)
	}
	cp, err := ingest.NewCheckpointer(ingest.CheckpointOptions{Log: pl, Key: newKey, Conn: e.Conn, Schema: e.Schema})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cp.Checkpoint(ctx); err != nil {
		t.Fatal(err)
	}
	got := names(t, e.verify(t, newVerifier))
	want := []string{"checkpoint_forged  checkpoint-28.txt", "checkpoint_forged  checkpoint-48.txt", "checkpoint_forged  checkpoint-8.txt"}
	if !slices.Equal(got, want) {
		t.Errorf("rebuilt log under the new key, exported checkpoints of the old:\n got %q\nwant %q", got, want)
	}
	res, err := proof.Verify(ctx, proof.Options{Conn: e.Conn, Scan: e.Scan, Schema: e.Schema, Verifier: e.verifier})
	if err != nil {
		t.Fatal(err)
	}
	if got := names(t, res); !slices.Equal(got, []string{"checkpoint_forged  stored checkpoint 48"}) || res.Latest != nil {
		t.Errorf("rebuilt log under the old verifier key: %q, latest %+v", got, res.Latest)
	}
}

// TestVerifyPeriod: --from/--to compare only the records ingested in the
// period (and the leaves appended in it): a change to a record ingested
// before it is not seen, one to a record ingested in it is, and the tree
// is still checked whole.
func TestVerifyPeriod(t *testing.T) {
	e := startLog(t)
	at := time.Date(2026, 10, 20, 9, 0, 0, 0, time.UTC)
	batch := func(prefix string) {
		var events []string
		for i := range 10 {
			events = append(events, ingesttest.WireEvent(fmt.Sprintf("%s-%d", prefix, i), "cust-1", "acme", "marketing", "", at, "contact"))
		}
		e.Ingest(t, audit.KindEvents, strings.Join(events, "\n"))
	}
	batch("early")
	// The period starts after the early batch was ingested and its leaves
	// appended (times in whole seconds).
	var last time.Time
	if err := e.Conn.QueryRow(context.Background(), "SELECT greatest((SELECT max(appended_at) FROM "+e.Schema.MetaDB+".log_leaf_rows), (SELECT max(ingested_at) FROM "+e.Schema.DB+".access_events))").Scan(&last); err != nil {
		t.Fatal(err)
	}
	from := last.Add(time.Second)
	for time.Now().Before(from) {
		time.Sleep(50 * time.Millisecond)
	}
	batch("late")
	e.checkpoint(t)
	for _, id := range []string{"early-3", "late-4"} {
		e.exec(t, "ALTER TABLE "+e.Schema.DB+".access_events UPDATE purpose = 'analytics' WHERE event_id = ?", ingesttest.UID(id))
	}
	res, err := proof.Verify(context.Background(), proof.Options{Conn: e.Conn, Scan: e.Scan, Schema: e.Schema, Verifier: e.verifier,
		From: from})
	if err != nil {
		t.Fatal(err)
	}
	if got := names(t, res); !slices.Equal(got, []string{"altered access_events " + ingesttest.UID("late-4")}) || res.Records != 10 || res.TreeSize != 20 {
		t.Fatalf("period from %s: findings %q, records %d, tree %d; want late-4 altered, the 10 late records, the whole tree of 20", from, got, res.Records, res.TreeSize)
	}
	if got := names(t, e.verify(t, e.verifier)); len(got) != 2 {
		t.Fatalf("whole log: findings %q, want both changes", got)
	}
}

// TestFindingStringQuotesStoredValues: a key or batch written outside
// privaudit with a newline or spaces is printed quoted, so it can neither
// break verify's report into lines nor forge one ("clean: …").
func TestFindingStringQuotesStoredValues(t *testing.T) {
	f := proof.Finding{Kind: proof.Inserted, Table: "access_events", Key: "x\nclean: every stored record", Batch: "b 1", Detail: "d"}
	got := f.String()
	if strings.Contains(got, "\n") || !strings.Contains(got, `"x\nclean: every stored record"`) || !strings.Contains(got, `batch="b 1"`) {
		t.Errorf("finding printed as %q", got)
	}
	if got := (proof.Finding{Kind: proof.Altered, Table: "access_events", Key: "00000000-0000-4000-8000-000000000007", Detail: "d"}).String(); got != "altered access_events 00000000-0000-4000-8000-000000000007: d" {
		t.Errorf("a plain key printed as %q", got)
	}
}
