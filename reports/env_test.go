package reports

import (
	"bytes"
	"context"
	"encoding/csv"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/privaudit/privaudit/audit"
	"github.com/privaudit/privaudit/audit/ingest/ingesttest"
)

// The golden period: October 2026.
var (
	octFrom = time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)
	octTo   = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
)

// goldenEnv starts an intake and ingests the golden data set the way it
// arrives in life: the consents, then the events, then consents recorded
// late (after the events), then a replayed request of events.
func goldenEnv(t *testing.T, o ingesttest.Options) *ingesttest.Env {
	t.Helper()
	env := ingesttest.Start(t, o)
	env.Ingest(t, audit.KindConsents, readTestdata(t, "consents.ndjson"))
	env.Ingest(t, audit.KindEvents, readTestdata(t, "events.ndjson"))
	env.Ingest(t, audit.KindConsents, readTestdata(t, "consents_late.ndjson"))
	env.Ingest(t, audit.KindEvents, readTestdata(t, "events_replay.ndjson"))
	return env
}

func readTestdata(t testing.TB, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// recorder collects the events a Runner records.
type recorder struct {
	mu  sync.Mutex
	evs []audit.Event
}

func (r *recorder) record(_ context.Context, evs ...audit.Event) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.evs = append(r.evs, evs...)
	return nil
}

func newTestRunner(t testing.TB, env *ingesttest.Env, rec Recorder) *Runner {
	t.Helper()
	if rec == nil {
		rec = (&recorder{}).record
	}
	r, err := NewRunner(Options{Conn: env.Conn, Schema: env.Schema, Recorder: rec, Version: "test", Logger: env.Log})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// runCSV runs a report as csv and returns its records, header first.
func runCSV(t testing.TB, r *Runner, report string, params map[string]string) ([][]string, RunResult) {
	t.Helper()
	var buf bytes.Buffer
	res, err := r.Run(context.Background(), RunRequest{Report: report, From: octFrom, To: octTo, Params: params,
		Format: "csv", Actor: "test-officer", Out: &buf})
	if err != nil {
		t.Fatalf("run %s: %v", report, err)
	}
	recs, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatalf("%s csv: %v", report, err)
	}
	if int64(len(recs)-1) != res.Rows {
		t.Fatalf("%s: %d csv rows, result says %d", report, len(recs)-1, res.Rows)
	}
	return recs, res
}

// byColumn indexes csv records by the value of column key.
func byColumn(t testing.TB, recs [][]string, key string) map[string]map[string]string {
	t.Helper()
	idx := -1
	for i, h := range recs[0] {
		if h == key {
			idx = i
		}
	}
	if idx < 0 {
		t.Fatalf("no column %s in %v", key, recs[0])
	}
	out := map[string]map[string]string{}
	for _, rec := range recs[1:] {
		m := map[string]string{}
		for i, h := range recs[0] {
			m[h] = rec[i]
		}
		out[rec[idx]] = m
	}
	return out
}

// storedColumns are the access_events columns access_verdicts repeats.
const storedColumns = `event_id, occurred_at, occurred_ns, actor_id, actor_type, subject_id, action,
	data_categories, fields, recipient_id, recipient_type, purpose, legal_basis, consent_id, outcome,
	record_count, channel, jurisdiction, request_id, attr_keys, attr_values, ingested_at, ingest_seq`
