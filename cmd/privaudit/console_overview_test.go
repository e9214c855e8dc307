package main

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/privaudit/privaudit/reports"
	"github.com/privaudit/privaudit/reports/console/browsertest"
	"github.com/privaudit/privaudit/reports/render"
)

// ingestGolden sends the reports' golden October through the API and waits
// until every record is stored with its verdict.
func (o *officerServer) ingestGolden(t *testing.T) {
	t.Helper()
	for _, f := range []struct{ path, name string }{{"/v1/consents", "consents.ndjson"}, {"/v1/events", "events.ndjson"},
		{"/v1/consents", "consents_late.ndjson"}} {
		b, err := os.ReadFile(filepath.Join("..", "..", "reports", "testdata", f.name))
		if err != nil {
			t.Fatal(err)
		}
		if resp, body := o.read(t, "POST", f.path, "ingest", string(b)); resp.StatusCode != 200 {
			t.Fatalf("ingest %s: %d %s", f.name, resp.StatusCode, body)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if _, err := o.srv.ingestor.WaitVerdicts(ctx); err != nil {
		t.Fatal(err)
	}
}

// overviewFigures reads every number of the overview shown, by its
// data-fig key.
func overviewFigures(t *testing.T, b *browsertest.Browser) map[string]string {
	t.Helper()
	return browsertest.Must(t, b, "read the figures", chromedp.Evaluate[map[string]string](
		`Object.fromEntries([...document.querySelectorAll('[data-fig]')].map(e => [e.dataset.fig, e.innerText.trim()]))`))
}

// expectedFigures are the numbers the overview must show for a period: the
// reports' own summaries, run through the Runner.
func expectedFigures(t *testing.T, r *reports.Runner, from, to time.Time) map[string]string {
	t.Helper()
	want := map[string]string{}
	num := func(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
	sum := func(name string) render.Summary {
		res, err := r.Summarize(context.Background(), reports.RunRequest{Report: name, From: from, To: to, Actor: "test"})
		if err != nil {
			t.Fatal(err)
		}
		for _, tot := range res.Summary.Totals {
			want[name+"|"+tot.Label] = num(tot.Value)
		}
		return res.Summary
	}
	pivot := func(s render.Summary, title string) render.Pivot {
		for _, p := range s.Pivots {
			if p.Title == title {
				return p
			}
		}
		t.Fatalf("no pivot %q", title)
		return render.Pivot{}
	}
	rowsCols := func(p render.Pivot, byRow, byCol, what string) {
		cols := make([]float64, len(p.ColHeaders))
		for _, row := range p.Rows {
			var n float64
			for j, v := range row.Values {
				n += v
				cols[j] += v
			}
			want[byRow+"|"+row.Label+"|"+what] = num(n)
		}
		for j, c := range p.ColHeaders {
			if cols[j] > 0 {
				want[byCol+"|"+c+"|"+what] = num(cols[j])
			}
		}
	}
	rowsCols(pivot(sum("disclosures"), "Disclosures per recipient and verdict"), "disclosures-recipient", "disclosures-verdict", "Disclosures")
	rowsCols(pivot(sum("violations"), "Violations per recipient and verdict"), "violations-recipient", "violations-reason", "Violations")
	changes := pivot(sum("consents"), reports.ConsentChangesTitle)
	for _, row := range changes.Rows {
		for j, v := range row.Values {
			want["consents-changes|"+row.Label+"|"+changes.ColHeaders[j]] = num(v)
		}
	}
	return want
}

// TestConsoleOverviewFigures drives a real Chromium through the overview of
// a real serve holding the golden October: the period chosen in the form,
// every number on the page equals the disclosures, violations and consents
// reports' own summary for the period, each links to its rows, the intake's
// health and the default period (the last 30 days) are shown, a bad date is
// explained; axe-core, keyboard and 1280 px.
func TestConsoleOverviewFigures(t *testing.T) {
	o := startOfficerServer(t)
	o.ingestGolden(t)
	b := browsertest.Start(t)
	b.Do(t, "sign in as alice", chromedp.Navigate(o.srv.URL+"/console/signin"), chromedp.WaitVisible(chromedp.CSS("#token")),
		chromedp.SendKeys(chromedp.CSS("#token"), o.token["alice"]+"\r"), chromedp.WaitVisible(chromedp.CSS("#period-h")))
	today := time.Now().UTC().Truncate(24 * time.Hour)
	if from := mustAttr(t, b, "#from"); from != today.AddDate(0, 0, -29).Format(time.DateOnly) {
		t.Errorf("default From %q, want 30 days back from tomorrow (to exclusive)", from)
	}
	if text := b.Text(t, "#period-text"); !strings.Contains(text, "to is exclusive") {
		t.Errorf("period says %q", text)
	}

	b.Do(t, "choose October", chromedp.SetValue(chromedp.CSS("#from"), "2026-10-01"), chromedp.SetValue(chromedp.CSS("#to"), "2026-11-01"),
		chromedp.Click(chromedp.CSS("form.period button")), chromedp.WaitVisible(chromedp.CSS("#consents-changes-h")))
	if loc := b.Location(t); !strings.HasSuffix(loc, "/console/?from=2026-10-01&to=2026-11-01") {
		t.Errorf("the form led to %s", loc)
	}
	from, to := time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	got, want := overviewFigures(t, b), expectedFigures(t, o.srv.reports, from, to)
	for k, v := range want {
		if got[k] != v {
			t.Errorf("overview %q = %q, the report's figure is %s", k, got[k], v)
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("overview shows %q = %q, a figure of no report", k, got[k])
		}
	}
	if want["disclosures|Disclosures"] != "31" || want["violations|Violations"] == "0" || want["consents-changes|2026-10-10|narrowed"] != "1" {
		t.Errorf("the golden October's figures: %v", want)
	}
	links := browsertest.Must(t, b, "read the links", chromedp.Evaluate[map[string]string](
		`Object.fromEntries([...document.querySelectorAll('[data-fig] a, a[data-fig]')].map(a => [(a.dataset.fig || a.parentElement.dataset.fig), a.getAttribute('href')]))`))
	for k, href := range map[string]string{
		"disclosures-recipient|msgplatform|Disclosures":  "/console/reports/disclosures?filter.recipient=msgplatform&from=2026-10-01&to=2026-11-01",
		"violations-reason|consent_withdrawn|Violations": "/console/reports/violations?filter.verdict=consent_withdrawn&from=2026-10-01&to=2026-11-01",
		"disclosures|Covered by a consent":               "/console/reports/disclosures?filter.verdict=covered&from=2026-10-01&to=2026-11-01",
		"consents-changes|2026-10-10|narrowed":           "/console/reports/consents?from=2026-10-10&to=2026-10-11",
	} {
		if links[k] != href {
			t.Errorf("%s links to %q, want %q", k, links[k], href)
		}
	}
	for k, v := range got {
		if v != "0" && links[k] == "" {
			t.Errorf("%s = %s links to no rows", k, v)
		}
	}
	intake := b.Text(t, "#intake ~ .table-wrap tbody")
	if !strings.Contains(intake, "events") || strings.Contains(strings.SplitN(intake, "\n", 2)[0], "none since start") {
		t.Errorf("intake health: %q, want the events received", intake)
	}
	if n := browsertest.Must(t, b, "count style attributes", chromedp.Evaluate[int](`document.querySelectorAll('[style]').length`)); n != 0 {
		t.Errorf("%d elements with a style attribute, which the CSP blocks", n)
	}
	b.Axe(t, "overview figures")
	b.NoHorizontalScroll(t, "overview figures")
	b.Screenshot(t, "console-overview-figures")
	focused := browsertest.TabThrough(t, b, 40) // a date field takes three stops
	for _, w := range []string{"BUTTON Show", "A Open the disclosures report for this period", "A 31"} {
		if !containsPrefix(focused, w) {
			t.Errorf("Tab never reaches %q; it visits %q", w, focused)
		}
	}

	b.Do(t, "a bad date", chromedp.Navigate(o.srv.URL+"/console/?from=last+tuesday&to=2026-11-01"), chromedp.WaitVisible(chromedp.CSS("form.period .error")))
	if msg := b.Text(t, "form.period .error"); !strings.Contains(msg, "not a date") || !strings.Contains(msg, "press Show") {
		t.Errorf("a bad date says %q", msg)
	}
	b.Axe(t, "overview with a bad date")
	b.Do(t, "a period privaudit refuses", chromedp.Navigate(o.srv.URL+"/console/?from=1990-01-01&to=1990-02-01"), chromedp.WaitVisible(chromedp.CSS("main > .error")))
	if msg := b.Text(t, "main > .error"); !strings.Contains(msg, "period outside") || !strings.Contains(msg, "Choose another period") {
		t.Errorf("a refused period says %q", msg)
	}

	q := `{"sql": "SELECT count() FROM privaudit.access_events FINAL WHERE actor_id = 'alice' AND channel = 'console' AND has(attr_values, 'summary')", "format": "csv"}`
	for deadline := time.Now().Add(90 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		_, body := o.read(t, "POST", "/v1/query", "bob", q)
		if n, _ := strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(body, "count()\n"))); n >= 6 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the overview's summaries are not recorded under alice on the console channel: %s", body)
		}
	}
}

func containsPrefix(list []string, prefix string) bool {
	for _, s := range list {
		if strings.HasPrefix(s, prefix) {
			return true
		}
	}
	return false
}
