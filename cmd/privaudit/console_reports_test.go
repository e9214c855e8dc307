package main

import (
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/xuri/excelize/v2"

	"github.com/privaudit/privaudit/reports/console/browsertest"
	"github.com/privaudit/privaudit/reports/schedule"
	"github.com/privaudit/privaudit/reports/xlsx"
)

const consolePeriod = "from=2026-10-01&to=2026-11-01"

// startReportsConsole starts serve with one schedule of the violations over
// October 2026, stores the six hostile disclosures (each a no_consent
// violation) and signs alice in through a real Chromium.
func startReportsConsole(t *testing.T) (*officerServer, *browsertest.Browser) {
	t.Helper()
	o := startOfficerServerWith(t, func(c *Config) {
		c.Schedules = []schedule.Config{{Name: "october-violations", Cron: "0 2 * * *", Report: "violations",
			Period: schedule.Explicit, From: "2026-10-01", To: "2026-11-01", Formats: []string{"xlsx", "csv"}}}
	})
	o.ingestHostile(t)
	b := browsertest.Start(t)
	b.Do(t, "sign in as alice", chromedp.Navigate(o.srv.URL+"/console/signin"), chromedp.WaitVisible(chromedp.CSS("#token")),
		chromedp.SendKeys(chromedp.CSS("#token"), o.token["alice"]+"\r"), chromedp.WaitVisible(chromedp.CSS("#you")))
	return o, b
}

// trailLines returns the lines of the csv of sql run by alice through the
// API, waiting until there are at least n.
func (o *officerServer) trailLines(t *testing.T, sql string, n int) []string {
	t.Helper()
	q := `{"sql": "` + sql + `", "format": "csv"}`
	for deadline := time.Now().Add(90 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		resp, body := o.read(t, "POST", "/v1/query", "alice", q)
		lines := strings.Split(strings.TrimSpace(body), "\n")[1:]
		if resp.StatusCode == 200 && len(lines) >= n {
			return lines
		}
		if time.Now().After(deadline) {
			t.Fatalf("fewer than %d rows of %s became visible: %d %s", n, sql, resp.StatusCode, body)
		}
	}
}

// TestConsoleReportDownload: an officer opens Reports from the menu, fills
// the violations form and downloads the xlsx; read back, its detail rows are
// the rows of the API's csv for the same period. The run is recorded under
// the officer's name on the console channel and shows in officer-activity.
// The form is keyboard-reachable, fits 1280 px and passes axe-core.
func TestConsoleReportDownload(t *testing.T) {
	o, b := startReportsConsole(t)
	b.Do(t, "open Reports from the menu", chromedp.Click(chromedp.CSS(`nav a[href="/console/reports"]`)), chromedp.WaitVisible(chromedp.CSS(".catalog")))
	b.Axe(t, "reports")
	b.NoHorizontalScroll(t, "reports")
	b.Screenshot(t, "console-reports")
	b.Do(t, "open the violations form", chromedp.Click(chromedp.CSS(`a[href="/console/reports/violations"]`)), chromedp.WaitVisible(chromedp.CSS("form.report")))
	verdicts := browsertest.Must(t, b, "verdict choices", chromedp.Evaluate[[]string](
		`[...document.querySelectorAll('select[name="filter.verdict"] option')].map(o => o.value)`))
	if !slices.Contains(verdicts, "no_consent") || verdicts[0] != "" {
		t.Errorf("verdict filter offers %q: want any, then the verdicts", verdicts)
	}
	if note := b.Text(t, "#progress-note"); !strings.Contains(note, "rows rendered so far show here") {
		t.Errorf("no note on the download's progress: %q", note)
	}
	b.Do(t, "set the period", chromedp.SetValue(chromedp.CSS("#from"), "2026-10-01"), chromedp.SetValue(chromedp.CSS("#to"), "2026-11-01"))
	b.Axe(t, "violations form")
	b.NoHorizontalScroll(t, "violations form")
	b.Screenshot(t, "console-report-form")
	focused := browsertest.TabThrough(t, b, 40)
	for _, w := range []string{"A Reports", "BUTTON Download"} {
		if !slices.Contains(focused, w) {
			t.Errorf("Tab never reaches %q; it visits %q", w, focused)
		}
	}

	dir := b.Downloads(t)
	b.Do(t, "download the xlsx", chromedp.Click(chromedp.CSS(`form.report button[type="submit"]`)))
	path := browsertest.WaitDownload(t, dir, "violations_2026-10-01_2026-11-01.xlsx")
	waitProgress(t, b, "Done: 6 rows.")
	o.sameRowsAsCSV(t, path, "violations", len(hostileRecipients))

	runs := o.trailLines(t, "SELECT actor_id, attr_values[indexOf(attr_keys, 'report')], attr_values[indexOf(attr_keys, 'format')], record_count FROM privaudit.access_events FINAL WHERE channel = 'console' AND purpose = 'audit_report'", 1)
	if want := "alice,violations,xlsx,6"; !slices.Contains(runs, want) {
		t.Errorf("console report runs recorded %q, want %q", runs, want)
	}
	_, body := o.read(t, "GET", "/v1/reports/officer-activity?format=csv&filter.actor=alice&from=2026-01-01&to=2100-01-01", "alice", "")
	if !regexp.MustCompile(`,alice,report run,violations,.*,xlsx,6,ok,`).MatchString(body) {
		t.Errorf("officer-activity does not list the console download:\n%s", body)
	}
}

// TestConsoleReportErrors: a report refused by the Runner (a required
// parameter left empty) shows its form again with the reason and what to
// do; the form keeps what was typed; a download the browser marks as
// started by another site is refused.
func TestConsoleReportErrors(t *testing.T) {
	o, b := startReportsConsole(t)
	b.Do(t, "open the subject-access form", chromedp.Navigate(o.srv.URL+"/console/reports/subject-access?"+consolePeriod+"&filter.verdict=no_consent"),
		chromedp.WaitVisible(chromedp.CSS("form.report")))
	if v := mustAttr(t, b, "#from"); v != "2026-10-01" {
		t.Errorf("the form is not filled from the address: from %q", v)
	}
	if v := mustAttr(t, b, `select[name="filter.verdict"]`); v != "no_consent" {
		t.Errorf("the verdict filter is not filled from the address: %q", v)
	}
	if v := mustAttr(t, b, "#audience"); v != "officer" {
		t.Errorf("subject-access's audience: %q, want officer", v)
	}
	b.Do(t, "download without a subject", chromedp.Click(chromedp.CSS(`form.report button[type="submit"]`)), chromedp.WaitVisible(chromedp.CSS("#report-error")))
	msg := b.Text(t, "#report-error")
	if !strings.Contains(msg, "needs parameter subject_id") || !strings.Contains(msg, "What to do: fill in or correct “Subject id” below") ||
		strings.Contains(msg, "--param") {
		t.Errorf("missing subject says %q: want the reason, the field to fill in, and no command-line syntax", msg)
	}
	if v := browsertest.Must(t, b, "the subject field's state", chromedp.Evaluate[string](`document.querySelector('[name="param.subject_id"]').getAttribute("aria-invalid") || ""`)); v != "true" {
		t.Errorf("the subject field is not marked invalid: aria-invalid %q", v)
	}
	if v := mustAttr(t, b, `select[name="filter.verdict"]`); v != "no_consent" {
		t.Errorf("the form lost the verdict filter after the error: %q", v)
	}
	b.Axe(t, "report form with an error")
	b.Screenshot(t, "console-report-error")

	c, _ := o.consoleSignIn(t, "bob")
	req, _ := http.NewRequest("GET", o.srv.URL+"/console/reports/violations/download?"+consolePeriod, nil)
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("a download started from another site: %d, want 403", resp.StatusCode)
	}
	resp, body := o.consoleGet(t, c, "/console/reports/violations/download?"+consolePeriod+"&filter.verdict=uncovered")
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "is not one of covered") || !strings.Contains(body, "fill in or correct “Verdict” below") {
		t.Errorf("a verdict not in the list: %d, want the form again naming the Verdict field:\n%s", resp.StatusCode, body)
	}
	resp, body = o.consoleGet(t, c, "/console/reports/violations/download?"+consolePeriod+"&format=csv")
	if resp.StatusCode != 200 || !strings.Contains(resp.Header.Get("Content-Disposition"), "violations_2026-10-01_2026-11-01.csv") {
		t.Fatalf("csv download: %d %q", resp.StatusCode, resp.Header.Get("Content-Disposition"))
	}
	sum := sha256.Sum256([]byte(body))
	if got := resp.Trailer.Get("X-Privaudit-Sha256"); got != hex.EncodeToString(sum[:]) {
		t.Errorf("SHA-256 trailer %q is not the digest of the csv %x", got, sum)
	}
	resp, body = o.consoleGet(t, c, "/console/reports/subject-access/download?"+consolePeriod+"&param.subject_id=cust-1&audience=customer&format=csv")
	if resp.StatusCode != 200 || !strings.Contains(resp.Header.Get("Content-Disposition"), "subject-access-customer_2026-10-01") {
		t.Errorf("subject-access for the customer: %d %q, want the customer-ready report\n%s", resp.StatusCode, resp.Header.Get("Content-Disposition"), body)
	}
}

// TestConsoleSchedules: the schedules page lists the schedule; Run now
// starts a run recorded as alice's, which the schedule's page then shows
// with its files and SHA-256s; a file downloaded from there is the
// recorded one and its download is recorded under alice's name.
func TestConsoleSchedules(t *testing.T) {
	o, b := startReportsConsole(t)
	b.Do(t, "open the schedules", chromedp.Navigate(o.srv.URL+"/console/reports"), chromedp.Click(chromedp.CSS(`a[href="/console/schedules"]`)),
		chromedp.WaitVisible(chromedp.CSS(`a[href="/console/schedules/october-violations"]`)))
	b.Axe(t, "schedules")
	b.NoHorizontalScroll(t, "schedules")
	b.Screenshot(t, "console-schedules")
	b.Do(t, "open the schedule", chromedp.Click(chromedp.CSS(`a[href="/console/schedules/october-violations"]`)), chromedp.WaitVisible(chromedp.CSS(".run-now")))
	if txt := b.Text(t, "#main"); !strings.Contains(txt, "No run yet") {
		t.Errorf("schedule page before any run: %q", txt)
	}
	focused := browsertest.TabThrough(t, b, 40)
	if !slices.Contains(focused, "BUTTON Run now") {
		t.Errorf("Tab never reaches Run now; it visits %q", focused)
	}
	b.Do(t, "run now", chromedp.Click(chromedp.CSS(".run-now button")), chromedp.WaitVisible(chromedp.CSS("tr.started")))
	for deadline := time.Now().Add(browsertest.StepTimeout); ; {
		row := b.Text(t, "tr.started")
		if strings.Contains(row, "success") {
			if !strings.Contains(row, "alice (by hand)") || !strings.Contains(row, "violations_2026-10-01_2026-11-01_") {
				t.Errorf("the run's row %q does not name alice and the file", row)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the run did not succeed: %q", row)
		}
		b.Do(t, "reload", chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS("tr.started")))
	}
	b.Axe(t, "schedule runs")
	b.NoHorizontalScroll(t, "schedule runs")
	b.Screenshot(t, "console-schedule")

	dir := b.Downloads(t)
	name := b.Text(t, `tr.started a[href$=".csv"]`)
	b.Do(t, "download the run's csv", chromedp.Click(chromedp.CSS(`tr.started a[href$=".csv"]`)))
	path := browsertest.WaitDownload(t, dir, name)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	if row := b.Text(t, "tr.started"); !strings.Contains(row, hex.EncodeToString(sum[:])) {
		t.Errorf("the downloaded file's SHA-256 %x is not the one the page shows: %q", sum, row)
	}
	files := o.trailLines(t, "SELECT actor_id, attr_values[indexOf(attr_keys, 'file')] FROM privaudit.access_events FINAL WHERE channel = 'run_file'", 1)
	if want := "alice," + name; !slices.Contains(files, want) {
		t.Errorf("run-file downloads recorded %q, want %q", files, want)
	}
	href := browsertest.Must(t, b, "the file's link", chromedp.Evaluate[string](`document.querySelector('tr.started a[href$=".csv"]').getAttribute("href")`))
	c, _ := o.consoleSignIn(t, "bob")
	req, _ := http.NewRequest("GET", o.srv.URL+href, nil)
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("a run-file download started from another site: %d, want 403", resp.StatusCode)
	}
	manual := o.trailLines(t, "SELECT actor_id, attr_values[indexOf(attr_keys, 'schedule')] FROM privaudit.access_events FINAL WHERE channel = 'schedule_manual'", 1)
	if !slices.Contains(manual, "alice,october-violations") {
		t.Errorf("the run now is recorded as %q, want alice's", manual)
	}
}

// waitProgress waits until the report form's progress line (reports.js)
// starts with want.
func waitProgress(t *testing.T, b *browsertest.Browser, want string) {
	t.Helper()
	for deadline := time.Now().Add(browsertest.StepTimeout); ; time.Sleep(200 * time.Millisecond) {
		msg := browsertest.Must(t, b, "read the progress", chromedp.Evaluate[string](`document.getElementById("progress").textContent`))
		if strings.HasPrefix(msg, want) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the progress line says %q, want %q", msg, want)
		}
	}
}

// sameRowsAsCSV checks that the detail sheet of the xlsx at path holds the
// rows of the API's csv of report for consolePeriod, in the same order:
// want of them.
func (o *officerServer) sameRowsAsCSV(t *testing.T, path, report string, want int) {
	t.Helper()
	f, err := excelize.OpenFile(path)
	if err != nil {
		t.Fatalf("the downloaded xlsx does not open: %v", err)
	}
	defer f.Close()
	sheet, err := f.GetRows(xlsx.DetailSheet)
	if err != nil {
		t.Fatal(err)
	}
	resp, body := o.read(t, "GET", "/v1/reports/"+report+"?format=csv&"+consolePeriod, "alice", "")
	recs, err := csv.NewReader(strings.NewReader(body)).ReadAll()
	if resp.StatusCode != 200 || err != nil {
		t.Fatalf("csv of the same period: %d %v\n%s", resp.StatusCode, err, body)
	}
	if len(sheet) != len(recs) || len(recs) != want+1 {
		t.Fatalf("xlsx has %d rows, the csv %d: want the header and %d rows in both", len(sheet), len(recs), want)
	}
	for i := 1; i < len(recs); i++ { // event_id and subject_id: the same rows in the same order
		if sheet[i][0] != recs[i][0] || sheet[i][2] != recs[i][2] {
			t.Errorf("row %d: xlsx %q, csv %q", i, sheet[i][:3], recs[i][:3])
		}
	}
}
