package reports

import (
	"bytes"
	"context"
	"errors"
	"io"
	"maps"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/xuri/excelize/v2"

	"github.com/privaudit/privaudit/audit"
	"github.com/privaudit/privaudit/audit/apierr"
	"github.com/privaudit/privaudit/audit/ingest/ingesttest"
	"github.com/privaudit/privaudit/queries"
	"github.com/privaudit/privaudit/reports/render"
	"github.com/privaudit/privaudit/reports/xlsx"
)

// TestReportsReadStoredVerdicts stores a later verdict for a covered
// disclosure that contradicts what the consent ledger says (a higher
// ledger_position, verdict consent_withdrawn): the reports show the stored
// verdict, so they read it rather than evaluate the event again.
func TestReportsReadStoredVerdicts(t *testing.T) {
	env := goldenEnv(t, ingesttest.Options{})
	const id = "e0000000-0000-4000-8000-000000000001" // covered by c-basic
	err := env.Conn.Exec(context.Background(), "INSERT INTO "+env.Schema.DB+".access_verdicts ("+storedColumns+`,
		is_disclosure, verdict, verdict_consent_id, verdict_detail, missing_categories, is_violation,
		ledger_position, evaluated_at)
	SELECT `+storedColumns+`, is_disclosure, 'consent_withdrawn', verdict_consent_id, 'the stored verdict',
		missing_categories, toUInt8(1), ledger_position + 1, now()
	FROM `+env.Schema.DB+".access_verdicts FINAL WHERE event_id = ?", id)
	if err != nil {
		t.Fatal(err)
	}
	r := newTestRunner(t, env, nil)
	v := byColumn(t, records(runCSV(t, r, "violations", nil)), "event_id")[id]
	if v["verdict"] != "consent_withdrawn" || v["detail"] != "the stored verdict" {
		t.Errorf("violations show %v for %s, want the stored verdict consent_withdrawn", v, id)
	}
	d := byColumn(t, records(runCSV(t, r, "disclosures", nil)), "event_id")[id]
	if d["verdict"] != "consent_withdrawn" {
		t.Errorf("disclosures show %v for %s, want the stored verdict", d, id)
	}
	if got := storedVerdicts(t, env.Conn, env.Schema, octFrom, octTo)[id]; got.Verdict != "consent_withdrawn" {
		t.Errorf("event_verdicts: %+v, want the stored verdict", got)
	}
	sa := byColumn(t, records(runCSV(t, r, "subject-access", map[string]string{"subject_id": "cust-01"})), "event_id")[id]
	if sa["verdict"] != "consent_withdrawn" {
		t.Errorf("subject-access shows %v for %s, want the stored verdict", sa, id)
	}
}

// records drops runCSV's result, keeping the csv records.
func records(recs [][]string, _ RunResult) [][]string { return recs }

// TestSubjectAccessReadsOneCustomer adds 200,000 access events of 20,000
// other customers and checks that one customer's subject-access report
// (detail and summary), and its customer-ready form, read at most 1% of
// them (issue 15's target): the rows ClickHouse reports reading, summed
// over the run's queries; so does the saved query subject-recipients.
func TestSubjectAccessReadsOneCustomer(t *testing.T) {
	env := goldenEnv(t, ingesttest.Options{})
	const bulk = 200_000
	cols := `event_id, occurred_at, occurred_ns, actor_id, actor_type, subject_id, action, data_categories,
		recipient_id, recipient_type, purpose, legal_basis, outcome, record_count, ingested_at, ingest_seq`
	gen := `SELECT concat('bulk-', toString(number)) AS event_id, toDateTime(t) AS occurred_at,
		toInt64(t) * 1000000000 AS occurred_ns, 'svc-bulk' AS actor_id, 'service' AS actor_type,
		concat('bulk-subject-', toString(number % 20000)) AS subject_id, 'read' AS action,
		['contact_details'] AS data_categories, 'internal' AS recipient_id, 'internal' AS recipient_type,
		'service' AS purpose, 'contract' AS legal_basis, 'allowed' AS outcome, toUInt64(1) AS record_count,
		now() AS ingested_at, toUInt64(number) AS ingest_seq
	FROM (SELECT number, 1790812800 + number % 2592000 AS t FROM system.numbers LIMIT 200000)`
	for _, sql := range []string{
		"INSERT INTO " + env.Schema.DB + ".access_events (" + cols + ") " + gen,
		"INSERT INTO " + env.Schema.DB + ".access_verdicts (" + cols + `, is_disclosure, verdict, verdict_detail,
			ledger_position, evaluated_at) SELECT *, toUInt8(0), 'other_basis', 'legal basis contract', toUInt64(1), now() FROM (` + gen + ")",
	} {
		if err := env.Conn.Exec(context.Background(), sql); err != nil {
			t.Fatal(err)
		}
	}
	r := newTestRunner(t, env, nil)
	for _, run := range []struct{ report, format string }{{"subject-access", "csv"}, {"subject-access", "xlsx"},
		{CustomerSubjectAccess, "csv"}, {CustomerSubjectAccess, "html"}} {
		var read atomic.Uint64
		ctx := clickhouse.Context(context.Background(), clickhouse.WithProgress(func(p *clickhouse.Progress) { read.Add(p.Rows) }))
		res, err := r.Run(ctx, RunRequest{Report: run.report, From: octFrom, To: octTo, Format: run.format,
			Params: map[string]string{"subject_id": "cust-01"}, Actor: "t", Out: io.Discard})
		if err != nil {
			t.Fatal(err)
		}
		if res.Rows == 0 || read.Load() == 0 || read.Load() > bulk/100 {
			t.Errorf("%s %s: %d rows, read %d rows; want at most 1%% of the %d other customers' events",
				run.report, run.format, res.Rows, read.Load(), bulk)
		}
		t.Logf("%s %s read %d rows (%d events of the period)", run.report, run.format, read.Load(), bulk)
	}
	q, err := queries.LookupSaved("subject-recipients")
	if err != nil {
		t.Fatal(err)
	}
	sql, err := q.SQL(env.Schema)
	if err != nil {
		t.Fatal(err)
	}
	args, err := q.Bind(map[string]string{"subject": "cust-01"})
	if err != nil {
		t.Fatal(err)
	}
	var read atomic.Uint64
	ctx := clickhouse.Context(context.Background(), clickhouse.WithProgress(func(p *clickhouse.Progress) { read.Add(p.Rows) }))
	rows, err := queryBound(ctx, env.Conn, sql, args)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for rows.Next() {
		n++
	}
	rows.Close()
	if rows.Err() != nil || n == 0 || read.Load() > bulk/100 {
		t.Errorf("saved query subject-recipients: %d rows (%v), read %d rows; want at most 1%% of the %d events", n, rows.Err(), read.Load(), bulk)
	}
}

// TestLedgerPositionStated checks that a run waits through Options.Fresh
// before it queries, states the position on the About sheet, in the
// recorded run and the result, says "not waited" without Fresh, and fails
// with what is pending when the wait fails.
func TestLedgerPositionStated(t *testing.T) {
	env := goldenEnv(t, ingesttest.Options{})
	through := time.Date(2026, 12, 7, 14, 3, 4, 123456789, time.UTC)
	var asked time.Time
	rec := &recorder{}
	r, err := NewRunner(Options{Conn: env.Conn, Schema: env.Schema, Recorder: rec.record, Version: "test", Logger: env.Log,
		Now: func() time.Time { return through },
		Fresh: func(_ context.Context, startedAt time.Time) (LedgerPosition, error) {
			asked = startedAt
			return LedgerPosition{Through: startedAt}, nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	res, err := r.Run(context.Background(), RunRequest{Report: "violations", From: octFrom, To: octTo, Format: "xlsx", Actor: "t", Out: &buf})
	if err != nil {
		t.Fatal(err)
	}
	const want = "every record accepted before 2026-12-07T14:03:04.123456789Z"
	if !asked.Equal(through) || res.Ledger.String() != want {
		t.Errorf("Fresh asked for %v; result position %q, want %q", asked, res.Ledger, want)
	}
	f, err := excelize.OpenReader(&buf)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := f.GetRows(xlsx.AboutSheet)
	if err != nil {
		t.Fatal(err)
	}
	stated := false
	for _, row := range rows {
		stated = stated || len(row) == 2 && row[0] == "Consent ledger" && row[1] == want
	}
	if !stated {
		t.Errorf("the About sheet does not state %q: %q", want, rows)
	}
	if got := attr(rec.evs[0].AttrKeys, rec.evs[0].AttrValues, "ledger_position"); got != "2026-12-07T14:03:04.123456789Z" {
		t.Errorf("recorded run: ledger_position %q", got)
	}

	unwaited := newTestRunner(t, env, nil)
	if res, err := unwaited.Run(context.Background(), RunRequest{Report: "consents", From: octFrom, To: octTo, Format: "json", Actor: "t",
		Out: io.Discard}); err != nil || res.Ledger.Waited() || !strings.HasPrefix(res.Ledger.String(), "not waited") {
		t.Errorf("without Fresh: %q, %v; want not waited", res.Ledger, err)
	}

	r.o.Fresh = func(ctx context.Context, _ time.Time) (LedgerPosition, error) {
		return LedgerPosition{}, errors.New("3 event batches are not stored yet")
	}
	buf.Reset()
	_, err = r.Run(context.Background(), RunRequest{Report: "violations", From: octFrom, To: octTo, Format: "csv", Actor: "t", Out: &buf})
	if err == nil || buf.Len() != 0 || apierr.Code(err) != apierr.Unavailable || !strings.Contains(err.Error(), "3 event batches are not stored yet") ||
		!strings.Contains(err.Error(), "run the report again") {
		t.Errorf("a failed wait: %v, %d bytes written; want an error saying what is pending and what to do", err, buf.Len())
	}
	r.o.FreshWait = 50 * time.Millisecond
	r.o.Fresh = func(ctx context.Context, _ time.Time) (LedgerPosition, error) {
		<-ctx.Done()
		return LedgerPosition{}, ctx.Err()
	}
	_, err = r.Run(context.Background(), RunRequest{Report: "violations", From: octFrom, To: octTo, Format: "csv", Actor: "t", Out: &buf})
	if apierr.Code(err) != apierr.Unavailable || !strings.Contains(err.Error(), "still pending after 50ms") {
		t.Errorf("a wait past FreshWait: %v", err)
	}
}

func attr(keys, values []string, key string) string {
	for i, k := range keys {
		if k == key {
			return values[i]
		}
	}
	return ""
}

// TestSummaryPivotsInOnePass checks that the xlsx summaries of
// disclosures, violations, recipients and processing-inventory read the
// period's stored verdicts twice (the totals and one rollup feeding both
// pivots), not once per pivot, and that each pivot holds the figures
// counted here in Go from the golden events and their verdicts.
func TestSummaryPivotsInOnePass(t *testing.T) {
	env := goldenEnv(t, ingesttest.Options{})
	r := newTestRunner(t, env, nil)
	period, err := queries.ReportSection("verdicts", "verdicts", env.Schema)
	if err != nil {
		t.Fatal(err)
	}
	_, args, err := bindParams(Definition{Name: "period"}, octFrom, octTo, nil)
	if err != nil {
		t.Fatal(err)
	}
	readOnce := rowsRead(t, func(ctx context.Context) {
		rows, err := queryBound(ctx, env.Conn, "SELECT count() FROM ("+period+")", args)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
		}
		rows.Close()
	})
	want := goldenPivots(t, storedVerdicts(t, env.Conn, env.Schema, octFrom, octTo))
	for _, report := range []string{"disclosures", "violations", "recipients", "processing-inventory"} {
		var sum render.Summary
		read := rowsRead(t, func(ctx context.Context) { sum = summaryOfCtx(t, ctx, r, report) })
		if read == 0 || read > 3*readOnce {
			t.Errorf("%s: the detail and summary read %d rows, want at most 3 × %d (detail, totals, one rollup)", report, read, readOnce)
		}
		if len(sum.Pivots) != 2 {
			t.Fatalf("%s summary: %+v", report, sum)
		}
		for _, p := range sum.Pivots {
			got := map[string]float64{}
			for _, row := range p.Rows {
				for j, v := range row.Values {
					if v != 0 {
						got[row.Label+" × "+p.ColHeaders[j]] = v
					}
				}
			}
			if w := want[p.Title]; len(w) == 0 || !maps.Equal(got, w) {
				t.Errorf("%s pivot %q:\n got %v\nwant %v", report, p.Title, got, w)
			}
		}
	}
}

// goldenPivots counts the summary pivots of the golden events in Go, by
// pivot title: "row × column" → value.
func goldenPivots(t *testing.T, verdicts map[string]verdictRow) map[string]map[string]float64 {
	t.Helper()
	out := map[string]map[string]float64{}
	add := func(title, row, col string) {
		if out[title] == nil {
			out[title] = map[string]float64{}
		}
		out[title][row+" × "+col]++
	}
	for _, e := range goldenEvents(t) {
		v := verdicts[e.EventID].Verdict
		add("Accesses per purpose and legal basis", e.Purpose, e.LegalBasis)
		for _, c := range slices.Compact(slices.Sorted(slices.Values(e.DataCategories))) {
			add("Accesses per data category and purpose", c, e.Purpose)
		}
		if audit.Verdict(v).IsViolation() {
			add("Violations per recipient and verdict", e.RecipientID, v)
			add("Violations per purpose and verdict", e.Purpose, v)
		}
		if !e.disclosure() {
			continue
		}
		add("Disclosures per recipient and verdict", e.RecipientID, v)
		add("Disclosures per purpose and recipient", e.Purpose, e.RecipientID)
		for _, c := range e.DataCategories {
			add("Disclosures per data category and recipient", c, e.RecipientID)
		}
	}
	return out
}

// rowsRead returns the rows ClickHouse reports reading for the queries run
// by f with the context it is given.
func rowsRead(t *testing.T, f func(ctx context.Context)) uint64 {
	t.Helper()
	var n atomic.Uint64
	f(clickhouse.Context(context.Background(), clickhouse.WithProgress(func(p *clickhouse.Progress) { n.Add(p.Rows) })))
	return n.Load()
}

// summaryOfCtx runs report through a capturing renderer with ctx and
// returns its summary.
func summaryOfCtx(t *testing.T, ctx context.Context, r *Runner, report string) render.Summary {
	t.Helper()
	r.o.Formats["capture"] = &captureRenderer{}
	res, err := r.Run(ctx, RunRequest{Report: report, From: octFrom, To: octTo, Format: "capture", Actor: "t", Out: io.Discard})
	if err != nil || res.Summary == nil {
		t.Fatalf("%s summary: %v", report, err)
	}
	return *res.Summary
}
