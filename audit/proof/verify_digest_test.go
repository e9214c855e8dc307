package proof_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/privaudit/privaudit/audit"
	"github.com/privaudit/privaudit/audit/ingest/ingesttest"
	"github.com/privaudit/privaudit/audit/proof"
)

func digester(e *ingesttest.Env, rows, last uint64) *proof.Digester {
	return proof.NewDigester(proof.Options{Conn: e.Conn, Scan: e.Scan, Schema: e.Schema, MaxListed: 1000, Logger: e.Log}, rows, last)
}

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
	if n := e.Count(t, "SELECT count() FROM "+e.Schema.MetaDB+".log_leaf_rows"); n != 15 {
		t.Fatalf("%d leaves, want 15", n)
	}
	ctx := context.Background()
	d := digester(e, 10, 9)
	if ok, later, err := d.Holds(ctx); err != nil || !ok || later != 5 || d.Result().Records != 10 || d.Result().Later != 5 {
		t.Fatalf("first 10 leaves of 15: holds %v (%v), later %d, records %d; want it to hold over 10 records, 5 later", ok, err, later, d.Result().Records)
	}
	if err := e.Conn.Exec(ctx, "INSERT INTO "+e.Schema.DB+".access_events (event_id, occurred_at, subject_id, recipient_id, purpose, batch_id) SELECT 'x-1', now(), 'cust-1', 'acme', 'marketing', 'handmade-batch'"); err != nil {
		t.Fatal(err)
	}
	if ok, later, err := digester(e, 10, 9).Holds(ctx); err != nil || ok || later != 6 {
		t.Fatalf("with a record in no logged batch: holds %v (%v), later %d; want it not to hold, 6 later", ok, err, later)
	}
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
	runs := e.Schema.MetaDB + ".log_runs"
	if n := e.Count(t, "SELECT count() FROM "+runs); n != 1 {
		t.Fatalf("30 events in %d runs, want one", n)
	}
	for _, q := range []string{
		"SYSTEM STOP MERGES " + runs,
		"CREATE TABLE " + runs + "_copy AS " + runs,
		"INSERT INTO " + runs + "_copy SELECT * FROM " + runs,
		"TRUNCATE TABLE " + runs,
		"INSERT INTO " + runs + " SELECT 10, 20, kind, batch_id, arraySlice(record_keys, 11), arraySlice(leaf_hashes, 11), appended_at FROM " + runs + "_copy",
		"INSERT INTO " + runs + " SELECT 0, 10, kind, batch_id, arraySlice(record_keys, 1, 10), arraySlice(leaf_hashes, 1, 10), appended_at FROM " + runs + "_copy",
	} {
		if err := e.Conn.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	if err := digester(e, 30, 29).FoldStoredOrder(ctx); !errors.Is(err, proof.ErrUnordered) {
		t.Fatalf("stored order of leaves 10..29 then 0..9: %v, want ErrUnordered", err)
	}
	d := digester(e, 30, 29)
	ok, _, err := d.Holds(ctx)
	if err != nil || !ok || !d.Result().Clean() || d.Result().TreeSize != 30 {
		t.Fatalf("leaves read sorted: holds %v (%v), findings %v, size %d; want clean over 30 leaves", ok, err, d.Result().Findings, d.Result().TreeSize)
	}
}
