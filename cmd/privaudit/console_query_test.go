package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"

	"github.com/privaudit/privaudit/reports/console/browsertest"
)

// queryTestEvents is how many events ingestQueryData stores: more than one
// page of the Query page's result table.
const queryTestEvents = 150

// queryEventID is the id of the i-th event ingestQueryData stores.
func queryEventID(i int) string { return fmt.Sprintf("7a2b3c4d-0000-4000-8000-%012d", i) }

// ingestQueryData stores queryTestEvents accesses on 2026-10-05, of which
// every 15th (10 in all) was denied to the actor svc-probe, and waits
// until the officer's reader sees them all.
func (o *officerServer) ingestQueryData(t *testing.T) {
	t.Helper()
	var b strings.Builder
	for i := range queryTestEvents {
		actor, outcome := "svc-app", "allowed"
		if i%15 == 0 {
			actor, outcome = "svc-probe", "denied"
		}
		ev, _ := json.Marshal(map[string]any{"event_id": queryEventID(i),
			"occurred_at": time.Date(2026, 10, 5, 9, 0, i, 0, time.UTC).Format(time.RFC3339), "actor_id": actor,
			"actor_type": "service", "subject_id": fmt.Sprintf("cust-%d", i%7), "action": "read",
			"data_categories": []string{"account_balance"}, "recipient_id": "core-banking", "recipient_type": "internal",
			"purpose": "balance_inquiry", "legal_basis": "contract", "outcome": outcome})
		b.Write(append(ev, '\n'))
	}
	if resp, body := o.read(t, "POST", "/v1/events", "ingest", b.String()); resp.StatusCode != 200 {
		t.Fatalf("ingest: %d %s", resp.StatusCode, body)
	}
	o.waitCount(t, "SELECT count() FROM privaudit.access_events FINAL WHERE actor_type = 'service'", queryTestEvents)
}

// waitCount waits until sql (one count) answers want through the API.
func (o *officerServer) waitCount(t *testing.T, sql string, want int) {
	t.Helper()
	q, _ := json.Marshal(map[string]string{"sql": sql, "format": "csv"})
	for deadline := time.Now().Add(90 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		resp, body := o.read(t, "POST", "/v1/query", "bob", string(q))
		lines := strings.Split(strings.TrimSpace(body), "\n")
		if resp.StatusCode == 200 && len(lines) == 2 && lines[1] == fmt.Sprint(want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %d %s, want %d", sql, resp.StatusCode, body, want)
		}
	}
}

// TestConsoleQuery drives the Query page in a real Chromium against a real
// serve on the embedded ClickHouse: a saved query run with its Date fields
// filled in, a DROP refused and explained (the table is still there), a
// syntax error shown at its position, a larger result paged to its second
// page, its csv export, and the recent queries listing each run with a
// link back to the editor. Each run is an access event under the
// officer's name; axe-core finds nothing serious, Tab reaches the editor
// and its button, and the page does not scroll sideways at 1280 px.
func TestConsoleQuery(t *testing.T) {
	o := startOfficerServer(t)
	o.ingestQueryData(t)
	b := browsertest.Start(t)
	b.Do(t, "sign in", chromedp.Navigate(o.srv.URL+"/console/signin"), chromedp.WaitVisible(chromedp.CSS("#token")),
		chromedp.SendKeys(chromedp.CSS("#token"), o.token["alice"]+"\r"), chromedp.WaitVisible(chromedp.CSS("#you")))
	b.Do(t, "open the Query page from the menu", chromedp.Click(chromedp.CSS(`nav a[href="/console/query"]`)),
		chromedp.WaitVisible(chromedp.CSS("#sql")))
	b.Axe(t, "query")
	b.NoHorizontalScroll(t, "query")
	b.Screenshot(t, "console-query")

	// A saved query with its parameters as typed fields.
	b.Do(t, "choose denied-accesses", chromedp.Click(chromedp.CSS(`a[href^="/console/query?saved=denied-accesses"]`)),
		chromedp.WaitVisible(chromedp.CSS("#saved-form")))
	for _, id := range []string{"#param-since", "#param-until"} {
		if typ := browsertest.Must(t, b, "type of "+id, chromedp.AttributeValue(chromedp.CSS(id), "type")); typ.Value != "date" {
			t.Errorf("%s is an <input type=%q>, want date", id, typ.Value)
		}
		if req := browsertest.Must(t, b, "required "+id, chromedp.Evaluate[bool](`document.querySelector("`+id+`").required`)); !req {
			t.Errorf("%s is not marked required", id)
		}
	}
	b.Do(t, "fill in the dates", chromedp.SetValue(chromedp.CSS("#param-since"), "2026-10-01"),
		chromedp.SetValue(chromedp.CSS("#param-until"), "2026-11-01"),
		chromedp.Click(chromedp.CSS("#saved-form button")), chromedp.WaitVisible(chromedp.CSS("#result")))
	if got := b.Text(t, "table.result tbody"); !strings.Contains(got, "svc-probe") || !strings.Contains(got, "10") {
		t.Errorf("denied-accesses for October shows %q, want svc-probe's 10 denied accesses", got)
	}
	if v := mustAttr(t, b, "#param-since"); v != "2026-10-01" {
		t.Errorf("after the run the since field holds %q, want the value given", v)
	}
	b.Axe(t, "query saved result")
	b.Screenshot(t, "console-query-saved")

	// A DROP refused, explained, and nothing dropped.
	b.Do(t, "type a DROP", chromedp.Navigate(o.srv.URL+"/console/query"), chromedp.WaitVisible(chromedp.CSS("#sql")),
		chromedp.SendKeys(chromedp.CSS("#sql"), "DROP TABLE privaudit.access_events"),
		chromedp.Click(chromedp.CSS("#sql-form button")), chromedp.WaitVisible(chromedp.CSS("#problem")))
	msg := b.Text(t, "#problem")
	for _, w := range []string{"refused to run DROP TABLE", "console only reads", "would change the audit trail", "What to do", "Nothing was changed"} {
		if !strings.Contains(msg, w) {
			t.Errorf("the DROP refusal says %q, without %q", msg, w)
		}
	}
	if got := mustAttr(t, b, "#sql"); got != "DROP TABLE privaudit.access_events" {
		t.Errorf("after the refusal the editor holds %q, want the statement refused", got)
	}
	b.Axe(t, "query refused")
	b.Screenshot(t, "console-query-refused")
	o.waitCount(t, "SELECT count() FROM privaudit.access_events FINAL WHERE actor_type = 'service'", queryTestEvents)

	// A syntax error, shown with ClickHouse's message and its position.
	b.Do(t, "run a typo", chromedp.SetValue(chromedp.CSS("#sql"), "SELECT count() FRO privaudit.access_events"),
		chromedp.Click(chromedp.CSS("#sql-form button")), chromedp.WaitVisible(chromedp.CSS("#problem mark")))
	if msg := b.Text(t, "#problem"); !strings.Contains(msg, "syntax error") || !strings.Contains(msg, "position") {
		t.Errorf("the syntax error says %q, want the message and the position", msg)
	}
	if m := b.Text(t, "#problem mark"); strings.TrimSpace(m) == "" {
		t.Errorf("the syntax error marks %q", m)
	}

	// A larger result, paged: run by keyboard, then the second page.
	const list = "SELECT event_id, occurred_at, actor_id, outcome FROM privaudit.access_events FINAL WHERE actor_type = 'service' ORDER BY event_id"
	b.Do(t, "write the list", chromedp.SetValue(chromedp.CSS("#sql"), list), chromedp.Focus(chromedp.CSS("#sql")),
		chromedp.KeyEvent("\t"), chromedp.KeyEvent("\r"), chromedp.WaitVisible(chromedp.CSS("#result")))
	if got := b.Text(t, ".result-count"); !strings.Contains(got, "Rows 1–100 of 150 (page 1 of 2)") {
		t.Errorf("first page says %q", got)
	}
	b.NoHorizontalScroll(t, "query result")
	b.Do(t, "next page", chromedp.Click(chromedp.CSS(`button[name="page"][value="2"]`)),
		chromedp.WaitVisible(chromedp.CSS(`button[name="page"][value="1"]`))) // "Previous page" is on page 2 only
	if got := b.Text(t, ".result-count"); !strings.Contains(got, "Rows 101–150 of 150 (page 2 of 2)") {
		t.Errorf("second page says %q", got)
	}
	if first := b.Text(t, "table.result tbody tr:first-child td:first-child"); first != queryEventID(100) {
		t.Errorf("second page starts with %q, want the 101st event %s", first, queryEventID(100))
	}
	b.Axe(t, "query result page 2")
	b.Screenshot(t, "console-query-page2")

	// The csv export of the same query, downloaded by the browser.
	csv := downloadCSV(t, b)
	lines := strings.Split(strings.TrimSpace(csv), "\n")
	if len(lines) != queryTestEvents+1 || lines[0] != "event_id,occurred_at,actor_id,outcome" || !strings.HasPrefix(lines[1], queryEventID(0)+",") {
		t.Errorf("csv export: %d lines, header %q, first %q; want the header and all %d rows", len(lines), lines[0], lines[min(1, len(lines)-1)], queryTestEvents)
	}

	// The recent queries, each reopened in the editor.
	b.Do(t, "reload the Query page", chromedp.Navigate(o.srv.URL+"/console/query"), chromedp.WaitVisible(chromedp.CSS("#recent")))
	recent := b.Text(t, "#recent table")
	for _, w := range []string{"denied-accesses", "DROP TABLE privaudit.access_events", "refused", list[:60]} {
		if !strings.Contains(recent, w) {
			t.Errorf("recent queries lack %q:\n%s", w, recent)
		}
	}
	b.Do(t, "reopen the newest", chromedp.Click(chromedp.CSS("#recent tbody tr:first-child a")), chromedp.WaitVisible(chromedp.CSS(".notice")))
	if got := mustAttr(t, b, "#sql"); got != list {
		t.Errorf("reopening the newest run (the csv export) puts %q in the editor, want %q", got, list)
	}
	b.Axe(t, "query recent")
	b.NoHorizontalScroll(t, "query recent")
	b.Screenshot(t, "console-query-recent")
	focused := browsertest.TabThrough(t, b, 40)
	for _, w := range []string{"A Query", "TEXTAREA " + list, "BUTTON Run query"} {
		if !slices.Contains(focused, w) {
			t.Errorf("Tab never reaches %q; it visits %q", w, focused)
		}
	}

	checkQueryTrail(t, o)
}

// checkQueryTrail checks that every run of TestConsoleQuery is an access
// event under alice's name: the saved query (its parameters' names only),
// the refused DROP, the syntax error, two pages and the csv export.
func checkQueryTrail(t *testing.T, o *officerServer) {
	t.Helper()
	q, _ := json.Marshal(map[string]string{"format": "csv", "sql": `SELECT attr_values[indexOf(attr_keys, 'status')] AS status,
		attr_values[indexOf(attr_keys, 'format')] AS format, attr_values[indexOf(attr_keys, 'saved')] AS saved,
		attr_values[indexOf(attr_keys, 'params')] AS params, attr_values[indexOf(attr_keys, 'sql')] LIKE '%ORDER BY event_id' AS is_list, outcome
		FROM privaudit.access_events FINAL WHERE purpose = 'audit_query' AND actor_id = 'alice' ORDER BY occurred_ns`})
	want := []string{"ok,html,denied-accesses,\"since,until\",0,allowed", "refused,html,,,0,denied", "error,html,,,0,allowed",
		"ok,html,,,1,allowed", "ok,html,,,1,allowed", "ok,csv,,,1,allowed"}
	var got []string
	for deadline := time.Now().Add(90 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		resp, body := o.read(t, "POST", "/v1/query", "bob", string(q))
		if resp.StatusCode != 200 {
			t.Fatalf("read the trail: %d %s", resp.StatusCode, body)
		}
		got = strings.Split(strings.TrimSpace(body), "\n")[1:]
		if len(got) >= len(want) || time.Now().After(deadline) {
			break
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("alice's query runs in the trail:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// downloadCSV presses the result's csv button and returns the file the
// browser saved.
func downloadCSV(t *testing.T, b *browsertest.Browser) string {
	t.Helper()
	dir := t.TempDir()
	allow := chromedp.Action[chromedp.Void](func(ctx context.Context, _ *chromedp.Target) (chromedp.Void, error) {
		_, err := chromedp.Call(ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
			Behavior: browser.SetDownloadBehaviorBehaviorAllow, DownloadPath: dir})
		return chromedp.Void{}, err
	})
	b.Do(t, "download the csv", allow, chromedp.Click(chromedp.CSS(`button[name="export"][value="csv"]`)))
	p := filepath.Join(dir, "privaudit-query.csv")
	for deadline := time.Now().Add(browsertest.StepTimeout); ; time.Sleep(200 * time.Millisecond) {
		if data, err := os.ReadFile(p); err == nil {
			return string(data)
		}
		if time.Now().After(deadline) {
			ents, _ := os.ReadDir(dir)
			t.Fatalf("no %s downloaded within %s (folder holds %v)", p, browsertest.StepTimeout, ents)
		}
	}
}
