package reports

import (
	"context"
	"encoding/csv"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/privaudit/privaudit/audit"
	"github.com/privaudit/privaudit/audit/ingest/ingesttest"
	"github.com/privaudit/privaudit/queries"
)

// verdictRow is the verdict engine's answer for one event.
type verdictRow struct {
	Verdict, ConsentID, Detail string
	Missing                    []string
}

// storedVerdicts runs queries/reports/event_verdicts.sql: the stored verdict
// of each event of [from, to).
func storedVerdicts(t testing.TB, conn driver.Conn, s queries.Schema, from, to time.Time) map[string]verdictRow {
	t.Helper()
	sql, err := queries.Report("event_verdicts", s)
	if err != nil {
		t.Fatal(err)
	}
	return verdictsOf(t, conn, sql, from, to)
}

// evaluatedVerdicts recomputes the verdict of each event of [from, to) with
// the in-query engine ("evaluated_verdicts"), the independent path `verify
// verdicts` checks the stored verdicts with.
func evaluatedVerdicts(t testing.TB, conn driver.Conn, s queries.Schema, from, to time.Time) map[string]verdictRow {
	t.Helper()
	engine, err := queries.ReportSection("verdicts", "evaluated_verdicts", s)
	if err != nil {
		t.Fatal(err)
	}
	return verdictsOf(t, conn, "SELECT event_id, verdict, verdict_consent_id, verdict_detail, missing_categories FROM ("+
		engine+") ORDER BY event_id", from, to)
}

// verdictsOf runs sql, which returns event_id, verdict, verdict_consent_id,
// verdict_detail and missing_categories, over [from, to).
func verdictsOf(t testing.TB, conn driver.Conn, sql string, from, to time.Time) map[string]verdictRow {
	t.Helper()
	_, args, err := bindParams(Definition{Name: "event-verdicts"}, from, to, nil)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := conn.Query(context.Background(), sql, args...)
	if err != nil {
		t.Fatalf("verdict sql: %v", err)
	}
	defer rows.Close()
	out := map[string]verdictRow{}
	for rows.Next() {
		var id string
		var v verdictRow
		if err := rows.Scan(&id, &v.Verdict, &v.ConsentID, &v.Detail, &v.Missing); err != nil {
			t.Fatal(err)
		}
		if _, dup := out[id]; dup {
			t.Errorf("event %s evaluated twice", id)
		}
		out[id] = v
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestGoldenVerdicts checks every verdict and consent_id of the hand-written
// golden data set (testdata/expected.csv: one case per verdict and every
// edge of SPEC §3) through the real ingest path and ClickHouse.
func TestGoldenVerdicts(t *testing.T) {
	env := goldenEnv(t, ingesttest.Options{})
	// A replayed batch may leave identical duplicate rows until a merge:
	// make some, of an event and of a consent event, behind the intake.
	ctx := context.Background()
	for _, st := range []string{
		"INSERT INTO privaudit.access_events SELECT * FROM privaudit.access_events WHERE event_id = 'e0000000-0000-4000-8000-000000000001'",
		"INSERT INTO privaudit.consent_events SELECT * FROM privaudit.consent_events WHERE consent_id = 'c-tie'",
	} {
		if err := env.Conn.Exec(ctx, st); err != nil {
			t.Fatal(err)
		}
	}
	if n := env.Count(t, "SELECT count() FROM privaudit.access_events WHERE event_id = 'e0000000-0000-4000-8000-000000000001'"); n != 2 {
		t.Fatalf("setup: want a duplicated row, have %d", n)
	}
	checkGolden(t, "stored", storedVerdicts(t, env.Conn, env.Schema, octFrom, octTo))
	checkGolden(t, "engine", evaluatedVerdicts(t, env.Conn, env.Schema, octFrom, octTo))
}

// checkGolden checks the verdicts one path (stored, engine) gives the golden
// events against testdata/expected.csv.
func checkGolden(t *testing.T, path string, got map[string]verdictRow) {
	t.Helper()
	want := readExpected(t)
	seen := map[string]bool{}
	for _, w := range want {
		seen[w.verdict] = true
		g, ok := got[w.eventID]
		if !ok {
			t.Errorf("%s: %s (%s): no verdict", path, w.eventID, w.name)
			continue
		}
		if g.Verdict != w.verdict || g.ConsentID != w.consentID || strings.Join(g.Missing, ";") != w.missing {
			t.Errorf("%s: %s (%s):\n got %s %q missing %q (%s)\nwant %s %q missing %q",
				path, w.eventID, w.name, g.Verdict, g.ConsentID, g.Missing, g.Detail, w.verdict, w.consentID, w.missing)
		}
		if g.Detail == "" {
			t.Errorf("%s: %s: empty detail", path, w.eventID)
		}
	}
	if len(got) != len(want) {
		t.Errorf("%s: %d events in the period, the golden set has %d (the event at the exclusive end must be left out)", path, len(got), len(want))
	}
	for _, v := range Verdicts {
		if !seen[v] {
			t.Errorf("the golden set has no case for verdict %s", v)
		}
	}
	// The verdicts' vocabulary is the domain's: it names every verdict of
	// audit.Verdicts on this set, and nothing else.
	emitted := map[string]bool{}
	for _, g := range got {
		emitted[g.Verdict] = true
		if !audit.Verdict(g.Verdict).Valid() {
			t.Errorf("%s: %q is no verdict of audit.Verdicts", path, g.Verdict)
		}
	}
	for _, v := range audit.VerdictNames() {
		if !emitted[v] {
			t.Errorf("%s: verdict %s of audit.Verdicts never occurs on the golden set", path, v)
		}
	}
	for _, w := range want {
		if w.verdict == string(audit.VerdictCategoryNotCovered) && got[w.eventID].Detail != "missing categories: card_transactions, contact_details" {
			t.Errorf("%s: %s: category detail %q", path, w.eventID, got[w.eventID].Detail)
		}
	}
}

type expectedVerdict struct{ eventID, verdict, consentID, missing, name string }

func readExpected(t testing.TB) []expectedVerdict {
	t.Helper()
	recs, err := csv.NewReader(strings.NewReader(readTestdata(t, "expected.csv"))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var out []expectedVerdict
	for _, r := range recs[1:] {
		out = append(out, expectedVerdict{r[0], r[1], r[2], r[3], r[4]})
	}
	return out
}
