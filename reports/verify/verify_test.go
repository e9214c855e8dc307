package verify

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/privaudit/privaudit/audit"
	"github.com/privaudit/privaudit/audit/ingest/ingesttest"
	"github.com/privaudit/privaudit/audit/store"
	"github.com/privaudit/privaudit/audit/synth"
)

var (
	octFrom = time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)
	octTo   = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
)

const testEvents = 2000

// verifiedEnv ingests a synthetic month of testEvents events and fills the
// verdict store: by the writers where they maintain it, else by the
// startup backfill.
func verifiedEnv(t *testing.T) *ingesttest.Env {
	t.Helper()
	env := ingesttest.Start(t, ingesttest.Options{})
	var events, consents bytes.Buffer
	if _, err := synth.Generate(context.Background(), synth.Options{Seed: 9, Customers: 150, Events: testEvents,
		From: octFrom, To: octTo, Now: time.Date(2026, 11, 15, 0, 0, 0, 0, time.UTC)}, &events, &consents); err != nil {
		t.Fatal(err)
	}
	env.Ingest(t, audit.KindConsents, consents.String())
	env.Ingest(t, audit.KindEvents, events.String())
	if err := store.BackfillVerdicts(context.Background(), store.BackfillOptions{Conn: env.Conn, Schema: env.Schema, Logger: env.Log}); err != nil {
		t.Fatal(err)
	}
	return env
}

// run verifies October in chunks of chunk events, taking a second look
// at the differences after 10ms, and collects the differences reported.
func run(t *testing.T, env *ingesttest.Env, chunk int64) (Result, []Difference) {
	t.Helper()
	return runWith(t, env, Options{ChunkEvents: chunk, RecheckAfter: 10 * time.Millisecond})
}

func runWith(t *testing.T, env *ingesttest.Env, o Options) (Result, []Difference) {
	t.Helper()
	var diffs []Difference
	o.Conn, o.Schema, o.From, o.To, o.Logger = env.Conn, env.Schema, octFrom, octTo, env.Log
	o.OnDifference = func(d Difference) { diffs = append(diffs, d) }
	res, err := Verdicts(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	return res, diffs
}

// TestVerifyClean: stored verdicts that equal the engine's are clean, in
// one chunk or several (each chunk's events are those of its subjects).
func TestVerifyClean(t *testing.T) {
	env := verifiedEnv(t)
	for _, chunk := range []int64{0, 700} {
		res, diffs := run(t, env, chunk)
		if !res.Clean() || len(diffs) > 0 {
			t.Errorf("chunk %d: want clean, got %+v, first differences %+v", chunk, res, diffs[:min(len(diffs), 3)])
		}
		if res.Checked != testEvents || res.Stored != testEvents {
			t.Errorf("chunk %d: checked %d events and %d stored verdicts, want %d", chunk, res.Checked, res.Stored, testEvents)
		}
		want := 1
		if chunk > 0 {
			want = 3
		}
		if res.Chunks != want {
			t.Errorf("chunk %d: %d chunks, want %d", chunk, res.Chunks, want)
		}
	}
}

// TestVerifyNamesDifferences: a re-evaluation stored with a wrong verdict,
// an access event without a stored verdict and a stored verdict without
// an access event are each named, and nothing else is, across chunks.
func TestVerifyNamesDifferences(t *testing.T) {
	env := verifiedEnv(t)
	ctx := context.Background()
	var tampered string
	if err := env.Conn.QueryRow(ctx, `SELECT event_id FROM privaudit.access_verdicts FINAL
		WHERE verdict = 'covered' ORDER BY event_id LIMIT 1`).Scan(&tampered); err != nil {
		t.Fatal(err)
	}
	var unstored string
	if err := env.Conn.QueryRow(ctx, `SELECT event_id FROM privaudit.access_events FINAL
		WHERE event_id != ? ORDER BY event_id DESC LIMIT 1`, tampered).Scan(&unstored); err != nil {
		t.Fatal(err)
	}
	// A re-evaluation with a wrong verdict, at a higher ledger position.
	exec(t, env, `INSERT INTO privaudit.access_verdicts (`+verdictColumns+`)
		SELECT `+replaceColumns("verdict", "'consent_withdrawn'", "ledger_position", "ledger_position + 1000")+`
		FROM privaudit.access_verdicts FINAL WHERE event_id = ?`, tampered)
	// An event stored without its verdict: a copy under a new id.
	exec(t, env, `INSERT INTO privaudit.access_events (`+eventColumns+`)
		SELECT concat(event_id, '-unstored'), `+eventColumns[len("event_id, "):]+`
		FROM privaudit.access_events FINAL WHERE event_id = ?`, unstored)
	// A stored verdict of no access event.
	exec(t, env, `INSERT INTO privaudit.access_verdicts (`+verdictColumns+`)
		SELECT `+replaceColumns("event_id", "concat(event_id, '-orphan')")+`
		FROM privaudit.access_verdicts FINAL WHERE event_id = ?`, unstored)

	res, diffs := run(t, env, 700)
	if res.Differing != 1 || res.Missing != 1 || res.Orphaned != 1 || len(diffs) != 3 || res.Chunks != 3 {
		t.Fatalf("want one differing, one missing and one orphaned event in 3 chunks, got %+v: %+v", res, diffs)
	}
	if res.Checked != testEvents+1 || res.Stored != testEvents+1 {
		t.Errorf("checked %d events, read %d stored verdicts; want %d each", res.Checked, res.Stored, testEvents+1)
	}
	want := map[string]string{tampered: Differs, unstored + "-unstored": Missing, unstored + "-orphan": Orphaned}
	for _, d := range diffs {
		if want[d.EventID] != d.Kind {
			t.Errorf("unexpected difference %+v", d)
		}
		if d.Kind == Differs && (d.Stored.Verdict != "consent_withdrawn" || d.Recomputed.Verdict != "covered" ||
			d.Stored.Detail != d.Recomputed.Detail || d.LedgerPosition < 1000) {
			t.Errorf("tampered event: stored %+v at %d, recomputed %+v", d.Stored, d.LedgerPosition, d.Recomputed)
		}
	}
	if res.MaxPosition < 1000 {
		t.Errorf("ledger positions %d–%d: the tampered row's is missing", res.MinPosition, res.MaxPosition)
	}
}

// TestVerifySecondLook: a difference that is gone at the second look (a
// re-evaluation stored meanwhile) is not reported; without the second
// look it is, and a difference that persists is reported either way.
func TestVerifySecondLook(t *testing.T) {
	env := verifiedEnv(t)
	ctx := context.Background()
	var transient, lasting string
	if err := env.Conn.QueryRow(ctx, `SELECT min(event_id), max(event_id) FROM privaudit.access_verdicts FINAL
		WHERE verdict = 'covered'`).Scan(&transient, &lasting); err != nil {
		t.Fatal(err)
	}
	restate := func(id, verdict string, step int) {
		exec(t, env, `INSERT INTO privaudit.access_verdicts (`+verdictColumns+`)
			SELECT `+replaceColumns("verdict", verdict, "ledger_position", "ledger_position + 1000")+`
			FROM privaudit.access_verdicts FINAL WHERE event_id = ?`, id)
		if n := env.Count(t, "SELECT count() FROM privaudit.access_verdicts WHERE event_id = ?", id); n != uint64(step+1) {
			t.Fatalf("setup: %d rows of %s", n, id)
		}
	}
	restate(transient, "'consent_withdrawn'", 1)
	restate(lasting, "'consent_withdrawn'", 1)

	res, diffs := runWith(t, env, Options{ChunkEvents: 700, RecheckAfter: -1})
	if res.Differing != 2 || len(diffs) != 2 || res.Settled != 0 {
		t.Fatalf("without a second look: want both differences, got %+v %+v", res, diffs)
	}
	// The second look finds transient re-evaluated correctly meanwhile.
	res, diffs = runWith(t, env, Options{ChunkEvents: 700, RecheckAfter: 10 * time.Millisecond,
		afterFirstPass: func() { restate(transient, "'covered'", 2) }})
	if res.Differing != 1 || res.Settled != 1 || len(diffs) != 1 || diffs[0].EventID != lasting || res.Checked != testEvents {
		t.Errorf("with a second look: want only %s reported and one settled, got %+v %+v", lasting, res, diffs)
	}
}

// TestVerifyAfterInterleaving: consents and accesses of the same subjects
// stored in 100 random orders as concurrent requests leave a verdict store
// that the SQL engine, recomputing independently, finds clean.
func TestVerifyAfterInterleaving(t *testing.T) {
	env := ingesttest.Start(t, ingesttest.Options{})
	reqs := ingesttest.Interleave(t, env, 16, 100)
	res, diffs := run(t, env, 0)
	for i, d := range diffs {
		if i < 10 {
			t.Errorf("%+v", d)
		}
	}
	if !res.Clean() || res.Checked < 500 {
		t.Errorf("after %d requests: %+v, want clean with every access checked", reqs, res)
	}
}
