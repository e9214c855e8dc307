package proof

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/privaudit/privaudit/audit"
	"github.com/privaudit/privaudit/audit/ingest/ingesttest"
)

// TestDigestLeavesLaterBatchesForNextRun: records of a batch logged after
// the leaves a run checks are left for the next run, and the digest still
// holds; a record in no logged batch at all makes it fail, so the
// record-by-record pass names it.
func TestDigestLeavesLaterBatchesForNextRun(t *testing.T) {
	e := ingesttest.Start(t, ingesttest.Options{})
	at := time.Date(2026, 10, 1, 9, 0, 0, 0, time.UTC)
	batch := func(from, n int) {
		var events []string
		for i := from; i < from+n; i++ {
			events = append(events, ingesttest.WireEvent(fmt.Sprintf("e-%d", i), "cust-1", "acme", "marketing", "", at.Add(time.Duration(i)*time.Minute), "contact"))
		}
		e.Ingest(t, audit.KindEvents, strings.Join(events, "\n"))
	}
	batch(0, 10)
	batch(10, 5)
	if n := e.Count(t, "SELECT count() FROM "+e.Schema.MetaDB+".log_leaves"); n != 15 {
		t.Fatalf("%d leaves, want 15", n)
	}
	ctx := context.Background()
	v := newTestVerifier(e, snapshot{rows: 10, last: 9})
	tally, err := v.tree(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	d, err := v.recordDigest(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := v.digestHolds(ctx, &tally, d); err != nil || !ok || v.res.Records != 10 || v.res.Later != 5 {
		t.Fatalf("first 10 leaves of 15: holds %v (%v), records %d, later %d; want it to hold over 10 records, 5 later", ok, err, v.res.Records, v.res.Later)
	}
	if err := e.Conn.Exec(ctx, "INSERT INTO "+e.Schema.DB+".access_events (event_id, occurred_at, subject_id, recipient_id, purpose, batch_id) SELECT 'x-1', now(), 'cust-1', 'acme', 'marketing', 'handmade-batch'"); err != nil {
		t.Fatal(err)
	}
	if d, err = v.recordDigest(ctx); err != nil {
		t.Fatal(err)
	}
	if tally, err = v.tree(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if ok, err := v.digestHolds(ctx, &tally, d); err != nil || ok || d.later != 6 {
		t.Fatalf("with a record in no logged batch: holds %v (%v), later %d; want it not to hold, 6 later", ok, err, d.later)
	}
}

func newTestVerifier(e *ingesttest.Env, s snapshot) *verifier {
	return &verifier{o: Options{Conn: e.Conn, Schema: e.Schema, MaxListed: 1000, Logger: e.Log}, res: &Result{Counts: map[FindingKind]uint64{}},
		snap: s, keys: newDigestKeys(), retained: leafRuns{}, digest: true}
}

// TestTreeReadsLeavesSortedWhenStoredOutOfOrder: leaves stored in parts
// out of index order (rewritten, or restored from a backup) come out of
// order in stored order; verify reads them sorted then, and finds the log
// as it is: clean.
func TestTreeReadsLeavesSortedWhenStoredOutOfOrder(t *testing.T) {
	e := ingesttest.Start(t, ingesttest.Options{})
	var events []string
	for i := range 30 {
		events = append(events, ingesttest.WireEvent(fmt.Sprintf("e-%d", i), "cust-1", "acme", "marketing", "", time.Date(2026, 10, 1, 9, i, 0, 0, time.UTC), "contact"))
	}
	e.Ingest(t, audit.KindEvents, strings.Join(events, "\n"))
	ctx := context.Background()
	leaves := e.Schema.MetaDB + ".log_leaves"
	for _, q := range []string{
		"SYSTEM STOP MERGES " + leaves,
		"CREATE TABLE " + leaves + "_copy AS " + leaves,
		"INSERT INTO " + leaves + "_copy SELECT * FROM " + leaves,
		"TRUNCATE TABLE " + leaves,
		"INSERT INTO " + leaves + " SELECT * FROM " + leaves + "_copy WHERE leaf_index >= 10",
		"INSERT INTO " + leaves + " SELECT * FROM " + leaves + "_copy WHERE leaf_index < 10",
	} {
		if err := e.Conn.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	v := newTestVerifier(e, snapshot{rows: 30, last: 29})
	if _, err := v.fold(ctx, nil, false); !errors.Is(err, errUnordered) {
		t.Fatalf("stored order of leaves 10..29 then 0..9: %v, want errUnordered", err)
	}
	v = newTestVerifier(e, snapshot{rows: 30, last: 29})
	tally, err := v.tree(ctx, nil)
	if err != nil || !v.res.Clean() || v.res.TreeSize != 30 || tally.rows != 30 || tally.faults {
		t.Fatalf("tree: %v, findings %v, size %d, rows %d, faults %v; want clean over 30 leaves", err, v.res.Findings, v.res.TreeSize, tally.rows, tally.faults)
	}
	d, err := v.recordDigest(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := v.digestHolds(ctx, &tally, d); err != nil || !ok {
		t.Fatalf("digest over leaves read sorted: holds %v (%v)", ok, err)
	}
}
