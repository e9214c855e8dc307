package reports

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/privaudit/privaudit/audit"
	"github.com/privaudit/privaudit/audit/apierr"
	"github.com/privaudit/privaudit/audit/ingest/ingesttest"
	"github.com/privaudit/privaudit/queries"
	"github.com/privaudit/privaudit/reports/render"
)

// goldenEvent is an access event of testdata/events.ndjson.
type goldenEvent struct {
	EventID        string    `json:"event_id"`
	OccurredAt     time.Time `json:"occurred_at"`
	ActorID        string    `json:"actor_id"`
	ActorType      string    `json:"actor_type"`
	SubjectID      string    `json:"subject_id"`
	Action         string    `json:"action"`
	DataCategories []string  `json:"data_categories"`
	RecipientID    string    `json:"recipient_id"`
	RecipientType  string    `json:"recipient_type"`
	Purpose        string    `json:"purpose"`
	LegalBasis     string    `json:"legal_basis"`
	Outcome        string    `json:"outcome"`
	RecordCount    int64     `json:"record_count"`
}

// goldenEvents reads the golden events of October, once each.
func goldenEvents(t testing.TB) []goldenEvent {
	t.Helper()
	var out []goldenEvent
	seen := map[string]bool{}
	sc := bufio.NewScanner(strings.NewReader(readTestdata(t, "events.ndjson")))
	for sc.Scan() {
		var e goldenEvent
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatal(err)
		}
		if e.Outcome == "" {
			e.Outcome = "allowed"
		}
		if !seen[e.EventID] && !e.OccurredAt.Before(octFrom) && e.OccurredAt.Before(octTo) {
			seen[e.EventID] = true
			out = append(out, e)
		}
	}
	return out
}

func (e goldenEvent) disclosure() bool {
	return slices.Contains([]string{"share", "export", "transfer"}, e.Action) && e.Outcome == "allowed" &&
		e.RecipientType != "internal" && e.RecipientType != "subject"
}

func columnNames(d Definition) []string {
	var out []string
	for _, c := range d.Columns {
		out = append(out, c.Name)
	}
	return out
}

// specColumns are the detail columns SPEC §4 requires of each report.
var specColumns = map[string][]string{
	"disclosures": {"event_id", "occurred_at", "subject_id", "recipient_id", "recipient_type", "purpose", "data_categories",
		"record_count", "legal_basis", "consent_id", "verdict"},
	"violations": {"event_id", "occurred_at", "subject_id", "recipient_id", "purpose", "data_categories", "consent_id",
		"verdict", "detail"},
	"subject-access": {"event_id", "occurred_at", "action", "recipient_id", "purpose", "data_categories", "verdict"},
	"recipients": {"recipient_id", "recipient_type", "data_categories", "purposes", "events", "subjects", "records",
		"first_seen", "last_seen", "covered_pct"},
	"consents": {"consent_event_id", "consent_id", "subject_id", "recipient_id", "status", "purposes", "data_categories",
		"effective_at", "expires_at", "ingested_at"},
	"processing-inventory": {"purpose", "data_category", "recipient_id", "legal_basis", "events", "subjects"},
	"access-review":        {"actor_id", "actor_type", "data_categories", "events", "subjects", "records", "after_hours_events"},
	// Issue 16: the officers' trail.
	"officer-activity": {"occurred_at", "actor_id", "activity", "what", "parameters", "row_count", "result"},
}

func TestCatalog(t *testing.T) {
	c := Default()
	if got := c.Names(); len(got) != len(specColumns)+len(customerForms) {
		t.Fatalf("catalog %v, want the %d reports of SPEC §4 and their %d customer-ready forms", got, len(specColumns), len(customerForms))
	}
	for name, cols := range specColumns {
		d, ok := c.Lookup(name)
		if !ok {
			t.Errorf("no report %s", name)
			continue
		}
		have := columnNames(d)
		for _, col := range cols {
			if !slices.Contains(have, col) {
				t.Errorf("%s lacks SPEC column %s", name, col)
			}
		}
	}
	names, err := queries.ReportNames()
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		used := n == "verdicts" || n == "event_verdicts"
		for _, d := range c.List() {
			used = used || d.SQL == n
		}
		if !used {
			t.Errorf("queries/reports/%s.sql belongs to no report", n)
		}
	}
	if _, err := NewCatalog(Definition{Name: "x", SQL: "x", Columns: []render.Column{{Name: "a"}}, Categories: []string{"c"},
		Params: []ParamSpec{{Name: "from", Kind: ParamString}}}); err == nil {
		t.Error("a parameter named from must be refused")
	}
}

// TestReportsColumnsAndSummaries runs every report through a renderer that
// keeps what it is given, and checks the detail header and the summary.
func TestReportsColumnsAndSummaries(t *testing.T) {
	env := goldenEnv(t, ingesttest.Options{})
	plantTrail(t, env) // officer-activity's rows
	r := newTestRunner(t, env, nil)
	params := map[string]map[string]string{"subject-access": {"subject_id": "cust-01"}, CustomerSubjectAccess: {"subject_id": "cust-01"}}
	for _, d := range r.Catalog().List() {
		recs, res := runCSV(t, r, d.Name, params[d.Name])
		if !slices.Equal(recs[0], columnNames(d)) {
			t.Errorf("%s header %v", d.Name, recs[0])
		}
		if res.Rows == 0 || res.Filename != d.Name+"_2026-10-01_2026-11-01.csv" {
			t.Errorf("%s: %d rows, filename %s", d.Name, res.Rows, res.Filename)
		}
		cap := &captureRenderer{}
		r.o.Formats["capture"] = cap
		if res.Summary != nil {
			t.Errorf("%s: a csv run computed a summary", d.Name)
		}
		cres, err := r.Run(context.Background(), RunRequest{Report: d.Name, From: octFrom, To: octTo, Params: params[d.Name],
			Format: "capture", Actor: "t", Out: io.Discard})
		if err != nil {
			t.Fatalf("%s: %v", d.Name, err)
		}
		if cres.Summary == nil || len(cres.Summary.Totals) != len(cap.sum.Totals) {
			t.Errorf("%s: the run result lacks the summary the renderer used", d.Name)
		}
		if len(cap.sum.Totals) == 0 || len(cap.sum.Pivots) == 0 || !slices.ContainsFunc(cap.sum.Pivots, func(p render.Pivot) bool { return p.Chart }) {
			t.Errorf("%s summary: %+v", d.Name, cap.sum)
		}
		wantSQL, by := 1+len(d.Summary), "t"
		if d.Audience == AudienceCustomer {
			wantSQL, by = 0, CustomerIssuer
		}
		if len(cap.in.Meta.SQL) != wantSQL || cap.in.Meta.GeneratedBy != by || cap.in.Meta.Params[0].Value != "2026-10-01" {
			t.Errorf("%s meta: %+v", d.Name, cap.in.Meta)
		}
	}
}

// captureRenderer consumes the rows and keeps the input and summary.
type captureRenderer struct {
	in  render.Input
	sum render.Summary
}

func (c *captureRenderer) Format() string      { return "capture" }
func (c *captureRenderer) ContentType() string { return "text/plain" }
func (c *captureRenderer) Render(ctx context.Context, w io.Writer, in render.Input) (render.Result, error) {
	c.in = in
	var n int64
	for in.Rows.Next() {
		n++
	}
	if err := in.Rows.Err(); err != nil {
		return render.Result{}, err
	}
	var err error
	c.sum, err = in.Summary(ctx)
	return render.Result{Rows: n}, err
}

func TestDisclosuresAndViolations(t *testing.T) {
	env := goldenEnv(t, ingesttest.Options{})
	r := newTestRunner(t, env, nil)
	events := goldenEvents(t)
	disclosures := 0
	for _, e := range events {
		if e.disclosure() {
			disclosures++
		}
	}
	recs, _ := runCSV(t, r, "disclosures", nil)
	if len(recs)-1 != disclosures {
		t.Errorf("disclosures: %d rows, the golden set has %d", len(recs)-1, disclosures)
	}
	rows := byColumn(t, recs, "event_id")
	first := rows["e0000000-0000-4000-8000-000000000001"]
	if first["occurred_at"] != "2026-10-05T10:00:00Z" || first["record_count"] != "3" || first["consent_id"] != "c-basic" ||
		first["verdict"] != "covered" || first["data_categories"] != "account_balance;card_transactions" {
		t.Errorf("disclosure 1: %v", first)
	}
	if at := rows["e0000000-0000-4000-8000-000000000003"]["occurred_at"]; at != "2026-10-02T12:00:00.5Z" {
		t.Errorf("fractional occurred_at %q", at)
	}
	want := map[string]expectedVerdict{}
	violations := 0
	for _, w := range readExpected(t) {
		want[w.eventID] = w
		if audit.Verdict(w.verdict).IsViolation() {
			violations++
		}
	}
	vrecs, _ := runCSV(t, r, "violations", nil)
	if len(vrecs)-1 != violations {
		t.Errorf("violations: %d rows, want %d", len(vrecs)-1, violations)
	}
	for id, row := range byColumn(t, vrecs, "event_id") {
		if w := want[id]; row["verdict"] != w.verdict || row["consent_id"] != w.consentID || row["missing_categories"] != w.missing || row["detail"] == "" {
			t.Errorf("violation %s: %v, want %+v", id, row, w)
		}
	}
}

func TestSubjectAccess(t *testing.T) {
	env := goldenEnv(t, ingesttest.Options{})
	rec := &recorder{}
	r := newTestRunner(t, env, rec.record)
	recs, res := runCSV(t, r, "subject-access", map[string]string{"subject_id": "cust-01"})
	accesses := 0
	for _, e := range goldenEvents(t) {
		if e.SubjectID == "cust-01" {
			accesses++
		}
	}
	var consents, repeated int
	for _, row := range byColumn(t, recs, "event_id") {
		switch {
		case row["record_type"] == "consent":
			consents++
			if row["action"] != "consent_granted" || row["consent_id"] != "c-basic" || row["occurred_at"] != "2026-10-01T00:00:00Z" {
				t.Errorf("consent row %v", row)
			}
		case row["purpose"] == "fraud_alert" && row["recipient_id"] == "msgplatform" && row["disclosure"] == "true":
			repeated++
			if row["times_disclosed"] != "3" || row["first_disclosed"] != "2026-10-05T10:00:00Z" || row["last_disclosed"] != "2026-10-19T10:00:00Z" {
				t.Errorf("repeated disclosure %v", row)
			}
		}
	}
	if int(res.Rows) != accesses+1 || consents != 1 || repeated != 3 {
		t.Errorf("subject access: %d rows (%d consents, %d repeated), want %d accesses + 1 consent, 3 repeated", res.Rows, consents, repeated, accesses)
	}
	if len(rec.evs) != 1 || rec.evs[0].SubjectID != "cust-01" {
		t.Fatalf("recorded %+v", rec.evs)
	}
}

func TestRecipientsInventoryAccessReview(t *testing.T) {
	env := goldenEnv(t, ingesttest.Options{})
	r := newTestRunner(t, env, nil)
	events := goldenEvents(t)
	var msgEvents, msgRecords int
	msgSubjects := map[string]bool{}
	for _, e := range events {
		if e.disclosure() && e.RecipientID == "msgplatform" {
			msgEvents++
			msgRecords += int(e.RecordCount)
			msgSubjects[e.SubjectID] = true
		}
	}
	recs, _ := runCSV(t, r, "recipients", nil)
	msg := byColumn(t, recs, "recipient_id")["msgplatform"]
	if msg["events"] != strconv.Itoa(msgEvents) || msg["records"] != strconv.Itoa(msgRecords) ||
		msg["subjects"] != strconv.Itoa(len(msgSubjects)) || msg["first_seen"] != "2026-10-02T12:00:00.499Z" {
		t.Errorf("msgplatform: %v; want %d events, %d records, %d subjects", msg, msgEvents, msgRecords, len(msgSubjects))
	}
	if msg["data_categories"] != "account_balance;card_transactions;contact_details" {
		t.Errorf("msgplatform categories %q", msg["data_categories"])
	}
	if pct, _ := strconv.ParseFloat(msg["covered_pct"], 64); pct <= 0 || pct >= 100 {
		t.Errorf("covered_pct %v", msg["covered_pct"])
	}

	inv, _ := runCSV(t, r, "processing-inventory", nil)
	var invEvents int
	for _, row := range inv[1:] {
		if row[0] == "fraud_alert" && row[1] == "card_transactions" && row[2] == "msgplatform" {
			invEvents, _ = strconv.Atoi(row[5])
		}
	}
	wantInv := 0
	for _, e := range events {
		if e.Purpose == "fraud_alert" && e.RecipientID == "msgplatform" && slices.Contains(e.DataCategories, "card_transactions") {
			wantInv++
		}
	}
	if invEvents != wantInv || wantInv == 0 {
		t.Errorf("inventory fraud_alert × card_transactions × msgplatform: %d events, want %d", invEvents, wantInv)
	}

	ar, _ := runCSV(t, r, "access-review", nil)
	alice := byColumn(t, ar, "actor_id")["emp-alice"]
	if alice["events"] != "3" || alice["subjects"] != "2" || alice["records"] != "7" || alice["after_hours_events"] != "2" {
		t.Errorf("emp-alice: %v", alice)
	}
	ar, _ = runCSV(t, r, "access-review", map[string]string{"workday_start": "0", "workday_end": "24"})
	if got := byColumn(t, ar, "actor_id")["emp-alice"]["after_hours_events"]; got != "1" {
		t.Errorf("with a 24-hour working day only the Saturday access is after hours, got %s", got)
	}
}

func TestConsentsReport(t *testing.T) {
	env := goldenEnv(t, ingesttest.Options{})
	r := newTestRunner(t, env, nil)
	recs, _ := runCSV(t, r, "consents", nil)
	want := strings.Count(readTestdata(t, "consents.ndjson"), "\n") + strings.Count(readTestdata(t, "consents_late.ndjson"), "\n")
	if len(recs)-1 != want {
		t.Errorf("consents: %d rows, want %d", len(recs)-1, want)
	}
	rows := byColumn(t, recs, "consent_event_id")
	exp := rows["c0000000-0000-4000-8000-000000000005"]
	if exp["consent_id"] != "c-exp" || exp["expires_at"] != "2026-10-15T00:00:00Z" || exp["backdated"] != "true" || exp["ingested_at"] == "" {
		t.Errorf("c-exp grant: %v", exp)
	}
	if rows["c0000000-0000-4000-8000-000000000001"]["expires_at"] != "" {
		t.Error("a grant without expiry must have an empty expires_at")
	}
	recs, _ = runCSV(t, r, "consents", map[string]string{"backdated_days": "3650"})
	for _, row := range recs[1:] {
		if row[10] != "false" {
			t.Fatalf("nothing is backdated by more than ten years: %v", row)
		}
	}
}

func TestRunRecordedAndValidation(t *testing.T) {
	env := goldenEnv(t, ingesttest.Options{})
	r := newTestRunner(t, env, env.Ingestor.Record)
	ctx := context.Background()
	var buf bytes.Buffer
	res, err := r.Run(ctx, RunRequest{Report: "disclosures", From: octFrom, To: octTo, Format: "json", Actor: "officer-bob", Out: &buf})
	if err != nil {
		t.Fatal(err)
	}
	env.WaitStored(t)
	var actor, subject, action, purpose, basis, attrs string
	var count uint64
	err = env.Conn.QueryRow(ctx, `SELECT actor_id, subject_id, action, purpose, legal_basis, record_count,
		arrayStringConcat(arrayMap((k, v) -> concat(k, '=', v), attr_keys, attr_values), ' ')
		FROM privaudit.access_events FINAL WHERE event_id = ?`, res.EventID).Scan(&actor, &subject, &action, &purpose, &basis, &count, &attrs)
	if err != nil {
		t.Fatal(err)
	}
	wantAttrs := fmt.Sprintf("checkpoint=none format=json from=2026-10-01 ledger_position=not waited report=disclosures rows=%d sha256=%s to=2026-11-01", res.Rows, res.SHA256)
	if actor != "officer-bob" || subject != RunSubjectAll || action != "export" || purpose != "audit_report" ||
		basis != "legal_obligation" || count != uint64(res.Rows) || attrs != wantAttrs {
		t.Errorf("recorded run: %s %s %s %s %s %d %q\nwant attrs %q", actor, subject, action, purpose, basis, count, attrs, wantAttrs)
	}

	failing := newTestRunner(t, env, func(context.Context, ...audit.Event) error { return errors.New("spool full") })
	if _, err := failing.Run(ctx, RunRequest{Report: "disclosures", From: octFrom, To: octTo, Format: "csv", Actor: "x", Out: io.Discard}); err == nil {
		t.Error("a run that cannot be recorded must fail")
	}

	bad := []struct {
		req  RunRequest
		code string
		msg  string
	}{
		{RunRequest{Report: "disclosure"}, apierr.NotFound, "access-review, consents, disclosures"},
		{RunRequest{Report: "disclosures", Format: "pdf", From: octFrom, To: octTo}, apierr.Invalid, "csv, html, json, xlsx"},
		{RunRequest{Report: "disclosures", Format: "csv", From: octTo, To: octFrom}, apierr.Invalid, "empty period"},
		{RunRequest{Report: "disclosures", Format: "csv", To: octTo}, apierr.Invalid, "period is required"},
		{RunRequest{Report: "subject-access", Format: "csv", From: octFrom, To: octTo}, apierr.Invalid, "needs parameter subject_id"},
		{RunRequest{Report: "disclosures", Format: "csv", From: octFrom, To: octTo, Params: map[string]string{"x": "1"}}, apierr.Invalid, "no parameter \"x\""},
		{RunRequest{Report: "consents", Format: "csv", From: octFrom, To: octTo, Params: map[string]string{"backdated_days": "a week"}}, apierr.Invalid, "not a whole number"},
		{RunRequest{Report: "access-review", Format: "csv", From: octFrom, To: octTo, Params: map[string]string{"workday_end": "25"}}, apierr.Invalid, "outside 1–24"},
		{RunRequest{Report: "access-review", Format: "csv", From: octFrom, To: octTo, Params: map[string]string{"workday_start": "18", "workday_end": "8"}}, apierr.Invalid, "workday_start must be before"},
		{RunRequest{Report: "disclosures", Format: "csv", From: octFrom, To: octTo}, apierr.Invalid, "actor"},
	}
	for _, b := range bad {
		b.req.Out = io.Discard
		_, err := r.Run(ctx, b.req)
		if apierr.Code(err) != b.code || err == nil || !strings.Contains(err.Error(), b.msg) {
			t.Errorf("%+v: error %v, want %s mentioning %q", b.req, err, b.code, b.msg)
		}
	}
}

// summaryOf runs report through a capturing renderer and returns its summary.
func summaryOf(t *testing.T, r *Runner, report string, params map[string]string) render.Summary {
	t.Helper()
	r.o.Formats["capture"] = &captureRenderer{}
	res, err := r.Run(context.Background(), RunRequest{Report: report, From: octFrom, To: octTo, Params: params,
		Format: "capture", Actor: "t", Out: io.Discard})
	if err != nil || res.Summary == nil {
		t.Fatalf("%s summary: %v", report, err)
	}
	return *res.Summary
}

func TestSummaryFigures(t *testing.T) {
	env := goldenEnv(t, ingesttest.Options{})
	r := newTestRunner(t, env, nil)
	sum := summaryOf(t, r, "disclosures", nil)
	totals := map[string]float64{}
	for _, tot := range sum.Totals {
		totals[tot.Label] = tot.Value
	}
	if totals["Disclosures"] != 31 || totals["Recipients"] != 2 || totals["Other legal basis"] != 1 || totals["Covered by a consent"] != 14 || totals["Not covered (violations)"] != 16 {
		t.Errorf("disclosure totals %v", totals)
	}
	p := sum.Pivots[0]
	if !p.Chart || p.ColHeaders[0] != string(audit.VerdictCovered) || p.Rows[0].Label != "msgplatform" || rowTotal(p.Rows[0]) != 30 {
		t.Errorf("pivot %+v", p)
	}
	ar := summaryOf(t, r, "access-review", nil)
	hours := ar.Pivots[0]
	if hours.RowHeader != "Hour of day (UTC)" || hours.Rows[0].Label > hours.Rows[len(hours.Rows)-1].Label {
		t.Errorf("hours pivot must be ordered by hour: %+v", hours)
	}
	cs := summaryOf(t, r, "consents", nil)
	for _, tot := range cs.Totals {
		if tot.Label == "Grants expiring in the period" && tot.Value != 1 {
			t.Errorf("expiring grants %v, want 1 (c-exp)", tot.Value)
		}
	}
}

func TestParseTime(t *testing.T) {
	for in, want := range map[string]string{
		"2026-10-01":                      "2026-10-01T00:00:00Z",
		"2026-10-01T08:30:00Z":            "2026-10-01T08:30:00Z",
		"2026-10-01T08:30:00.25+02:00":    "2026-10-01T06:30:00.25Z",
		" 2026-10-01T00:00:00.000000001Z": "2026-10-01T00:00:00.000000001Z",
	} {
		got, err := ParseTime(in)
		if err != nil || got.Format(time.RFC3339Nano) != want || got.Location() != time.UTC {
			t.Errorf("ParseTime(%q) = %v, %v; want %s UTC", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "2026-13-01", "yesterday", "2026-10-01 08:00"} {
		if _, err := ParseTime(bad); err == nil {
			t.Errorf("ParseTime(%q) accepted", bad)
		}
	}
}

// TestAccessReviewTotals checks the access-review summary's figures against
// the golden events, counted here in Go.
func TestAccessReviewTotals(t *testing.T) {
	env := goldenEnv(t, ingesttest.Options{})
	r := newTestRunner(t, env, nil)
	cap := &captureRenderer{}
	r.o.Formats["capture"] = cap
	if _, err := r.Run(context.Background(), RunRequest{Report: "access-review", From: octFrom, To: octTo,
		Format: "capture", Actor: "t", Out: io.Discard}); err != nil {
		t.Fatal(err)
	}
	want := map[string]float64{}
	actors, customers := map[string]bool{}, map[string]bool{}
	for _, e := range goldenEvents(t) {
		if !slices.Contains([]string{"employee", "service", "system"}, e.ActorType) ||
			e.OccurredAt.Before(time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)) || !e.OccurredAt.Before(time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)) {
			continue
		}
		at := e.OccurredAt.UTC()
		after := at.Hour() < 8 || at.Hour() >= 18 || at.Weekday() == time.Saturday || at.Weekday() == time.Sunday
		actors[e.ActorID], customers[e.SubjectID] = true, true
		want["Accesses"]++
		if after {
			want["After-hours accesses"]++
			if e.ActorType == "employee" {
				want["After-hours accesses by employees"]++
			}
		}
		if e.Outcome == "denied" {
			want["Denied requests"]++
		}
	}
	want["Internal actors"], want["Customers"] = float64(len(actors)), float64(len(customers))
	if want["After-hours accesses by employees"] == 0 || want["After-hours accesses"] == want["After-hours accesses by employees"] {
		t.Fatalf("the golden set should have after-hours accesses by employees and by services: %v", want)
	}
	got := map[string]float64{}
	for _, tot := range cap.sum.Totals {
		got[tot.Label] = tot.Value
	}
	if !maps.Equal(got, want) {
		t.Errorf("access-review totals\n got %v\nwant %v", got, want)
	}
}
