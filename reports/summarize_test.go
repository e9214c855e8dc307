package reports

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/privaudit/privaudit/audit"
	"github.com/privaudit/privaudit/audit/ingest/ingesttest"
	"github.com/privaudit/privaudit/reports/render"
)

// pivotNamed returns the pivot of sum titled title.
func pivotNamed(t *testing.T, sum render.Summary, title string) render.Pivot {
	t.Helper()
	for _, p := range sum.Pivots {
		if p.Title == title {
			return p
		}
	}
	t.Fatalf("no pivot %q among %d", title, len(sum.Pivots))
	return render.Pivot{}
}

func totalNamed(sum render.Summary, label string) float64 {
	for _, t := range sum.Totals {
		if t.Label == label {
			return t.Value
		}
	}
	return -1
}

// TestSummarizeEqualsTheRunsSummary: Summarize returns the totals and
// pivots the run of the same request puts on its Summary sheet, for the
// period and with filters, and records itself as a summary run.
func TestSummarizeEqualsTheRunsSummary(t *testing.T) {
	env := goldenEnv(t, ingesttest.Options{})
	rec := &recorder{}
	r := newTestRunner(t, env, rec.record)
	ctx := context.Background()
	for _, c := range []struct {
		report  string
		filters map[string]string
	}{{"disclosures", nil}, {"violations", nil}, {"consents", nil},
		{"disclosures", map[string]string{"recipient": "msgplatform"}}, {"violations", map[string]string{"verdict": "consent_withdrawn"}}} {
		res, err := r.Summarize(ctx, RunRequest{Report: c.report, From: octFrom, To: octTo, Filters: c.filters, Actor: "officer-ann", Channel: "console"})
		if err != nil {
			t.Fatalf("%s: %v", c.report, err)
		}
		r.o.Formats["capture"] = &captureRenderer{}
		run, err := r.Run(ctx, RunRequest{Report: c.report, From: octFrom, To: octTo, Filters: c.filters, Format: "capture", Actor: "t", Out: discard{}})
		if err != nil || run.Summary == nil {
			t.Fatalf("%s run: %v", c.report, err)
		}
		if got, want := summaryText(res.Summary), summaryText(*run.Summary); got != want {
			t.Errorf("%s %v: Summarize\n%s\nwant the run's\n%s", c.report, c.filters, got, want)
		}
		if len(res.Summary.Totals) == 0 || len(res.Summary.Pivots) == 0 {
			t.Errorf("%s: empty summary %+v", c.report, res.Summary)
		}
	}
	if v := totalNamed(mustSummarize(t, r, "violations", map[string]string{"verdict": "consent_withdrawn"}), "Violations"); v <= 0 {
		t.Errorf("violations filtered to consent_withdrawn: %v, want some", v)
	}
	var ev audit.Event
	for _, e := range rec.evs {
		if e.ActorID == "officer-ann" {
			ev = e
		}
	}
	attrs := map[string]string{}
	for i, k := range ev.AttrKeys {
		attrs[k] = ev.AttrValues[i]
	}
	if ev.Channel != "console" || attrs["format"] != SummaryFormat || attrs["report"] != "violations" || attrs["filter.verdict"] != "consent_withdrawn" || ev.RecordCount != 0 {
		t.Errorf("recorded summary run: %+v %v", ev, attrs)
	}
	if _, err := r.Summarize(ctx, RunRequest{Report: "violations", From: octTo, To: octFrom, Actor: "x"}); err == nil || !strings.Contains(err.Error(), "empty period") {
		t.Errorf("empty period: %v", err)
	}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

func mustSummarize(t *testing.T, r *Runner, report string, filters map[string]string) render.Summary {
	t.Helper()
	res, err := r.Summarize(context.Background(), RunRequest{Report: report, From: octFrom, To: octTo, Filters: filters, Actor: "t"})
	if err != nil {
		t.Fatalf("summarize %s: %v", report, err)
	}
	return res.Summary
}

// summaryText prints a summary's totals and pivots, one figure a line.
func summaryText(s render.Summary) string {
	var b strings.Builder
	for _, t := range s.Totals {
		b.WriteString(t.Label + " = " + ftoa(t.Value) + "\n")
	}
	for _, p := range s.Pivots {
		for _, r := range p.Rows {
			for j, v := range r.Values {
				b.WriteString(p.Title + " | " + r.Label + " | " + p.ColHeaders[j] + " = " + ftoa(v) + "\n")
			}
		}
	}
	return b.String()
}

func ftoa(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

// TestConsentChangesPerDay: the consents report's pivot of changes counts,
// per day of October, each consent event as granted (first, or after a
// withdrawal), narrowed, other change or withdrawn; its columns add up to
// the report's Grants and Withdrawals.
func TestConsentChangesPerDay(t *testing.T) {
	env := goldenEnv(t, ingesttest.Options{})
	// c-card widened on 12 October: an other change.
	env.Ingest(t, audit.KindConsents, `{"consent_event_id":"c0000000-0000-4000-8000-00000000c0de","consent_id":"c-card","subject_id":"cust-08","recipient_id":"cardnet","status":"granted","purposes":["fraud_alert","balance_inquiry"],"data_categories":["account_balance"],"effective_at":"2026-10-12T08:00:00Z","method":"opt_in_messenger"}`+"\n")
	r := newTestRunner(t, env, nil)
	sum := mustSummarize(t, r, "consents", nil)
	p := pivotNamed(t, sum, ConsentChangesTitle)
	if strings.Join(p.ColHeaders, ",") != "granted,narrowed,other change,withdrawn" {
		t.Fatalf("columns %v", p.ColHeaders)
	}
	cells := map[string]float64{}
	var cols [4]float64
	for _, row := range p.Rows {
		for j, v := range row.Values {
			cells[row.Label+" "+p.ColHeaders[j]] = v
			cols[j] += v
		}
	}
	want := map[string]float64{"2026-10-10 narrowed": 1, "2026-10-10 withdrawn": 1, "2026-10-12 other change": 1,
		"2026-10-08 granted": 1, "2026-10-05 withdrawn": 1, "2026-10-03 withdrawn": 3, "2026-10-03 granted": 3, "2026-10-04 withdrawn": 1}
	for k, v := range want {
		if cells[k] != v {
			t.Errorf("%s: %v, want %v\n%s", k, cells[k], v, summaryText(render.Summary{Pivots: []render.Pivot{p}}))
		}
	}
	if grants := totalNamed(sum, "Grants"); cols[0]+cols[1]+cols[2] != grants || cols[1] != 1 || cols[2] != 1 {
		t.Errorf("granted %v + narrowed %v + other %v, want the report's %v Grants with one narrowed, one other", cols[0], cols[1], cols[2], grants)
	}
	if wd := totalNamed(sum, "Withdrawals"); cols[3] != wd || wd != 6 {
		t.Errorf("withdrawn %v, want the report's %v Withdrawals (6)", cols[3], wd)
	}
	for i := 1; i < len(p.Rows); i++ {
		if p.Rows[i-1].Label >= p.Rows[i].Label {
			t.Fatalf("days out of order: %s before %s", p.Rows[i-1].Label, p.Rows[i].Label)
		}
	}
	// Filtered to cardnet, only c-card's two events count.
	fp := pivotNamed(t, mustSummarize(t, r, "consents", map[string]string{"recipient": "cardnet"}), ConsentChangesTitle)
	if got := summaryText(render.Summary{Pivots: []render.Pivot{fp}}); strings.Count(got, "= 1\n") != 2 || !strings.Contains(got, "2026-10-12 | other change = 1") {
		t.Errorf("filtered to cardnet:\n%s", got)
	}
	// Past 92 days, per week.
	res, err := r.Summarize(context.Background(), RunRequest{Report: "consents", From: octFrom, To: octFrom.AddDate(0, 4, 0), Actor: "t"})
	if err != nil {
		t.Fatal(err)
	}
	wp := pivotNamed(t, res.Summary, ConsentChangesTitle)
	if len(wp.Rows) == 0 || !strings.HasPrefix(wp.Rows[0].Label, "week of 2026-09-28") {
		t.Errorf("four months, first row %+v: want weeks, starting the Monday 28 September", wp.Rows)
	}
}

// TestConsentChangesAgreeWithGo: the consents report's classification of
// consent events (SQL) agrees with the customer-ready subject-access's
// words for them (consentChange), day by day, on the golden October and a
// widened, a renewed and a changed consent.
func TestConsentChangesAgreeWithGo(t *testing.T) {
	env := goldenEnv(t, ingesttest.Options{})
	grant := func(id, consent, subject, purposes, cats, at string) string {
		return `{"consent_event_id":"c0000000-0000-4000-8000-00000000f` + id + `","consent_id":"` + consent + `","subject_id":"` + subject +
			`","recipient_id":"cardnet","status":"granted","purposes":[` + purposes + `],"data_categories":[` + cats +
			`],"effective_at":"` + at + `","method":"opt_in_messenger"}` + "\n"
	}
	env.Ingest(t, audit.KindConsents, grant("001", "c-card", "cust-08", `"fraud_alert","advertising"`, `"account_balance"`, "2026-10-12T08:00:00Z")+
		grant("002", "c-card", "cust-08", `"fraud_alert","advertising"`, `"account_balance"`, "2026-10-13T08:00:00Z")+
		grant("003", "c-card", "cust-08", `"advertising"`, `"card_transactions"`, "2026-10-14T08:00:00Z")+
		grant("004", "c-card", "cust-08", `"advertising"`, `"card_transactions"`, "2026-09-20T08:00:00Z"))
	r := newTestRunner(t, env, nil)
	p := pivotNamed(t, mustSummarize(t, r, "consents", nil), ConsentChangesTitle)
	sqlCells := map[string]float64{}
	for _, row := range p.Rows {
		for j, v := range row.Values {
			if v != 0 {
				sqlCells[row.Label+" "+p.ColHeaders[j]] = v
			}
		}
	}
	rows, err := env.Conn.Query(context.Background(), `SELECT consent_id, status, purposes, data_categories, effective_ns
		FROM privaudit.consent_events FINAL ORDER BY consent_id, effective_ns, ingest_seq`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	words := map[string]string{consentGiven: "granted", consentGivenAgain: "granted", consentNarrowed: "narrowed", consentWithdrawn: "withdrawn"}
	c := &customerRows{scope: map[string]consentScope{}}
	goCells := map[string]float64{}
	for rows.Next() {
		var id, status string
		var purposes, cats []string
		var eff int64
		if err := rows.Scan(&id, &status, &purposes, &cats, &eff); err != nil {
			t.Fatal(err)
		}
		w := c.consentChange(id, status == "granted", purposes, cats)
		at := time.Unix(0, eff).UTC()
		if at.Before(octFrom) || !at.Before(octTo) {
			continue
		}
		kind, ok := words[w]
		if !ok {
			kind = "other change"
		}
		goCells[at.Format(time.DateOnly)+" "+kind]++
	}
	if got, want := fmt.Sprint(sqlCells), fmt.Sprint(goCells); got != want {
		t.Errorf("SQL classification\n%s\nGo's consentChange\n%s", got, want)
	}
	if goCells["2026-10-12 other change"] != 1 || goCells["2026-10-13 other change"] != 1 || goCells["2026-10-14 other change"] != 1 {
		t.Errorf("the widened, renewed and changed grants: %v", goCells)
	}
}
