package store_test

import (
	"bytes"
	"context"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"

	"github.com/privaudit/privaudit/audit"
	"github.com/privaudit/privaudit/audit/ingest/ingesttest"
	"github.com/privaudit/privaudit/audit/store"
	"github.com/privaudit/privaudit/audit/synth"
	"github.com/privaudit/privaudit/queries"
)

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// storedRow is an access_verdicts row as the backfill test compares it.
type storedRow struct {
	verdict, consentID, detail string
	missing, attrKeys          []string
	disclosure, violation      uint8
	position, ingestSeq        uint64
	occurredAt                 time.Time
}

// TestBackfillVerdicts: a deployment upgrading to the verdict store has
// access events and no stored verdict; the backfill gives every event
// exactly one row, with the in-query engine's verdict and the event's own
// columns, in several chunks, logs that it runs once, and does nothing when
// verdicts are stored.
func TestBackfillVerdicts(t *testing.T) {
	env := ingesttest.Start(t, ingesttest.Options{})
	ctx := context.Background()
	var events, consents bytes.Buffer
	from, to := time.Date(2026, 9, 20, 0, 0, 0, 0, time.UTC), time.Date(2026, 10, 10, 0, 0, 0, 0, time.UTC)
	if _, err := synth.Generate(ctx, synth.Options{Seed: 5, Customers: 150, Events: 2000, From: from, To: to,
		Now: time.Date(2026, 10, 15, 0, 0, 0, 0, time.UTC)}, &events, &consents); err != nil {
		t.Fatal(err)
	}
	env.Ingest(t, audit.KindConsents, consents.String())
	env.Ingest(t, audit.KindEvents, events.String())
	// The events were stored before the verdict store existed.
	if err := env.Conn.Exec(ctx, "TRUNCATE TABLE privaudit.access_verdicts"); err != nil {
		t.Fatal(err)
	}
	n := env.Count(t, "SELECT count() FROM privaudit.access_events FINAL")
	if n != 2000 {
		t.Fatalf("setup: %d events stored, want 2000", n)
	}
	var logs syncBuffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	o := store.BackfillOptions{Conn: env.Conn, Schema: env.Schema, ChunkEvents: 600, Logger: log}
	if err := store.BackfillVerdicts(ctx, o); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), "evaluating 2000 stored events into the verdict store; this runs once") ||
		strings.Count(logs.String(), "verdict store backfill progress") != 4 {
		t.Errorf("want the once-only message and 4 chunks logged:\n%s", logs.String())
	}
	if raw := env.Count(t, "SELECT count() FROM privaudit.access_verdicts"); raw != n {
		t.Errorf("%d verdict rows for %d events; want exactly one each", raw, n)
	}
	stored := readStored(t, env)
	checkAgainstEngine(t, env, stored, from, to)
	checkEventColumns(t, env, stored)

	if err := store.BackfillVerdicts(ctx, o); err != nil {
		t.Fatal(err)
	}
	if raw := env.Count(t, "SELECT count() FROM privaudit.access_verdicts"); raw != n {
		t.Errorf("a second start backfilled again: %d rows for %d events", raw, n)
	}
}

func readStored(t *testing.T, env *ingesttest.Env) map[string]storedRow {
	t.Helper()
	rows, err := env.Conn.Query(context.Background(), `SELECT event_id, verdict, verdict_consent_id, verdict_detail,
		missing_categories, is_disclosure, is_violation, ledger_position, attr_keys, ingest_seq, occurred_at
		FROM privaudit.access_verdicts FINAL`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]storedRow{}
	for rows.Next() {
		var id string
		var r storedRow
		if err := rows.Scan(&id, &r.verdict, &r.consentID, &r.detail, &r.missing, &r.disclosure, &r.violation,
			&r.position, &r.attrKeys, &r.ingestSeq, &r.occurredAt); err != nil {
			t.Fatal(err)
		}
		out[id] = r
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// checkAgainstEngine compares every stored verdict with the in-query
// engine's over [from, to), evaluated in one chunk.
func checkAgainstEngine(t *testing.T, env *ingesttest.Env, stored map[string]storedRow, from, to time.Time) {
	t.Helper()
	sql, err := queries.Verdicts("verify_evaluated", env.Schema)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := env.Conn.Query(context.Background(), sql,
		clickhouse.Named("from_s", from.Unix()), clickhouse.Named("to_s", to.Unix()),
		clickhouse.Named("from_ns", from.UnixNano()), clickhouse.Named("to_ns", to.UnixNano()),
		clickhouse.Named("buckets", 1), clickhouse.Named("bucket", 0))
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	seen, verdicts := 0, map[string]bool{}
	for rows.Next() {
		var id string
		var w storedRow
		if err := rows.Scan(&id, &w.verdict, &w.consentID, &w.detail, &w.missing, &w.disclosure, &w.violation); err != nil {
			t.Fatal(err)
		}
		seen++
		verdicts[w.verdict] = true
		g, ok := stored[id]
		if !ok || g.verdict != w.verdict || g.consentID != w.consentID || g.detail != w.detail ||
			!slices.Equal(g.missing, w.missing) || g.disclosure != w.disclosure || g.violation != w.violation || g.position != 0 {
			t.Errorf("event %s: stored %+v, engine %+v", id, g, w)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if seen != len(stored) || len(verdicts) < 5 {
		t.Errorf("engine evaluated %d events (%d verdict kinds), %d stored", seen, len(verdicts), len(stored))
	}
}

// checkEventColumns: the stored rows carry the event's own columns.
func checkEventColumns(t *testing.T, env *ingesttest.Env, stored map[string]storedRow) {
	t.Helper()
	rows, err := env.Conn.Query(context.Background(), "SELECT event_id, attr_keys, ingest_seq, occurred_at FROM privaudit.access_events FINAL")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var keys []string
		var seq uint64
		var at time.Time
		if err := rows.Scan(&id, &keys, &seq, &at); err != nil {
			t.Fatal(err)
		}
		g := stored[id]
		if !slices.Equal(g.attrKeys, keys) || g.ingestSeq != seq || !g.occurredAt.Equal(at) {
			t.Errorf("event %s: stored columns %v %d %v, access_events %v %d %v", id, g.attrKeys, g.ingestSeq, g.occurredAt, keys, seq, at)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
}
