package main

import (
	"encoding/csv"
	"encoding/json"
	"html"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/privaudit/privaudit/reports/console/browsertest"
)

// The customer the lookup test plants: a consent to share with an ad
// network, a disclosure it covers, the consent withdrawn, then a disclosure
// after the withdrawal.
const (
	lookupCustomer   = "cust-k3-planted"
	lookupGrant      = "3b9d1c2e-0000-4000-8000-0000000000c1"
	lookupWithdrawal = "3b9d1c2e-0000-4000-8000-0000000000c2"
	lookupCovered    = "3b9d1c2e-0000-4000-8000-0000000000e1"
	lookupAfter      = "3b9d1c2e-0000-4000-8000-0000000000e2"
)

// plantLookupCustomer ingests lookupCustomer's consents and disclosures.
func (o *officerServer) plantLookupCustomer(t *testing.T) {
	t.Helper()
	consent := func(id, status, at string) map[string]any {
		c := map[string]any{"consent_event_id": id, "consent_id": "k3-adnet-consent", "subject_id": lookupCustomer,
			"recipient_id": "adnet", "status": status, "effective_at": at, "method": "opt_in_web"}
		if status == "granted" {
			c["purposes"], c["data_categories"] = []string{"advertising"}, []string{"account_balance"}
		}
		return c
	}
	share := func(id, at string) map[string]any {
		return map[string]any{"event_id": id, "occurred_at": at, "actor_id": "svc-ads", "actor_type": "service",
			"subject_id": lookupCustomer, "action": "share", "data_categories": []string{"account_balance"},
			"recipient_id": "adnet", "recipient_type": "third_party", "purpose": "advertising", "legal_basis": "consent",
			"record_count": 1, "channel": "api"}
	}
	for _, batch := range []struct {
		path string
		recs []map[string]any
	}{
		{"/v1/consents", []map[string]any{consent(lookupGrant, "granted", "2026-10-01T09:00:00Z"), consent(lookupWithdrawal, "withdrawn", "2026-10-10T09:00:00Z")}},
		{"/v1/events", []map[string]any{share(lookupCovered, "2026-10-05T10:00:00Z"), share(lookupAfter, "2026-10-12T10:00:00Z")}},
	} {
		var b strings.Builder
		for _, r := range batch.recs {
			line, _ := json.Marshal(r)
			b.Write(append(line, '\n'))
		}
		if resp, body := o.read(t, "POST", batch.path, "ingest", b.String()); resp.StatusCode != 200 {
			t.Fatalf("ingest %s: %d %s", batch.path, resp.StatusCode, body)
		}
	}
}

// TestConsoleCustomerLookup drives a real Chromium through the customer
// lookup of a real serve: an officer looks the planted customer up by
// keyboard and finds the disclosure after the withdrawal on the timeline,
// with its verdict in plain words and the withdrawal that decided it, which
// lists it among the accesses it decided; the customer-ready csv downloads
// through the session; a mistyped id is explained; axe-core finds nothing
// serious, the page fits 1280 px, the buttons are reachable by Tab; the
// lookup and the download are recorded under the officer's name with the
// customer as subject.
func TestConsoleCustomerLookup(t *testing.T) {
	o := startOfficerServer(t)
	o.plantLookupCustomer(t)
	b := browsertest.Start(t)
	b.Do(t, "sign in", chromedp.Navigate(o.srv.URL+"/console/signin"), chromedp.WaitVisible(chromedp.CSS("#token")),
		chromedp.SendKeys(chromedp.CSS("#token"), o.token["alice"]+"\r"), chromedp.WaitVisible(chromedp.CSS("#you")))
	b.Do(t, "open the customer lookup", chromedp.Click(chromedp.CSS(`nav a[href="/console/customers"]`)),
		chromedp.WaitVisible(chromedp.CSS("#subject_id")))
	b.Axe(t, "customer lookup form")
	b.NoHorizontalScroll(t, "customer lookup form")

	b.Do(t, "look the customer up by keyboard", chromedp.SetValue(chromedp.CSS("#from"), "2026-10-01"),
		chromedp.SetValue(chromedp.CSS("#to"), "2026-11-01"), chromedp.Focus(chromedp.CSS("#subject_id")),
		chromedp.SendKeys(chromedp.CSS("#subject_id"), lookupCustomer+"\r"), chromedp.WaitVisible(chromedp.CSS("ol.timeline")))
	after := b.Text(t, "#t-"+lookupAfter)
	for _, w := range []string{"Disclosure", "adnet", "Not covered.", "The customer had withdrawn the consent before the access.",
		"consent_withdrawn", "as changed on 2026-10-10 09:00:00 UTC"} {
		if !strings.Contains(after, w) {
			t.Errorf("the disclosure after the withdrawal does not say %q:\n%s", w, after)
		}
	}
	if href := mustAttrOf(t, b, "#t-"+lookupAfter+" dd a", "href"); !strings.HasSuffix(href, "#t-"+lookupWithdrawal) {
		t.Errorf("the disclosure's deciding consent links to %q, want the withdrawal's entry", href)
	}
	withdrawal := b.Text(t, "#t-"+lookupWithdrawal)
	if !strings.Contains(withdrawal, "Consent withdrawn for adnet") || !strings.Contains(withdrawal, "2026-10-12 10:00:00 UTC, disclosure: consent_withdrawn") {
		t.Errorf("the withdrawal does not list the disclosure it decided:\n%s", withdrawal)
	}
	if href := mustAttrOf(t, b, "#t-"+lookupWithdrawal+" .decided a", "href"); !strings.HasSuffix(href, "#t-"+lookupAfter) {
		t.Errorf("the withdrawal's decided access links to %q", href)
	}
	if grant := b.Text(t, "#t-"+lookupGrant); !strings.Contains(grant, "2026-10-05 10:00:00 UTC, disclosure: covered") {
		t.Errorf("the grant does not list the disclosure it covered:\n%s", grant)
	}
	b.Axe(t, "customer timeline")
	b.NoHorizontalScroll(t, "customer timeline")
	b.Screenshot(t, "console-customer-timeline")
	focused := browsertest.TabThrough(t, b, 40)
	for i, f := range focused {
		focused[i] = strings.Join(strings.Fields(f), " ")
	}
	for _, w := range []string{"A Customer lookup", "INPUT " + lookupCustomer, "BUTTON Look up", "A csv (Customer-ready version)"} {
		if !slices.Contains(focused, w) {
			t.Errorf("Tab never reaches %q; it visits %q", w, focused)
		}
	}

	href := mustAttrOf(t, b, `.download-group:nth-child(2) a[href*="format=csv"]`, "href")
	body := browsertest.Must(t, b, "download the customer-ready csv", chromedp.Evaluate[string](
		`fetch(`+jsString(href)+`).then(r => r.ok ? r.text() : Promise.reject(r.status))`, chromedp.EvalAwaitPromise))
	recs, err := csv.NewReader(strings.NewReader(body)).ReadAll()
	if err != nil || len(recs) != 5 || recs[0][0] != "date" {
		t.Fatalf("customer-ready csv (%v): %d records:\n%s", err, len(recs), body)
	}
	if !strings.Contains(body, "You withdrew your consent") || !strings.Contains(body, "After you withdrew your consent") ||
		strings.Contains(body, "svc-ads") || strings.Contains(body, lookupAfter) {
		t.Errorf("the customer-ready csv lacks the withdrawal or the disclosure after it, or shows internal ids:\n%s", body)
	}

	b.Do(t, "look up a mistyped id", chromedp.SetValue(chromedp.CSS("#subject_id"), "cust-k3-p1anted"),
		chromedp.Submit(chromedp.CSS("#subject_id")), chromedp.WaitVisible(chromedp.CSS("#nothing")))
	if msg := b.Text(t, "#nothing"); !strings.Contains(msg, "Nothing is recorded about subject_id cust-k3-p1anted") || !strings.Contains(msg, "check the id") {
		t.Errorf("a mistyped id says %q", msg)
	}
	b.Axe(t, "customer lookup, nothing found")
	b.Screenshot(t, "console-customer-nothing")

	c, _ := o.consoleSignIn(t, "bob")
	for path, want := range map[string]string{
		"/console/customers?subject_id=" + lookupCustomer + "&from=01/10/2026&to=2026-11-01":                                                "Give the first day, like 2026-10-01",
		"/console/customers?subject_id=&from=2026-10-01&to=2026-11-01":                                                                      "Type the customer's subject_id",
		"/console/customers?subject_id=" + lookupCustomer + "&from=2026-11-01&to=2026-10-01":                                                "The period is empty",
		"/console/reports/subject-access/download?param.subject_id=" + lookupCustomer + "&from=2026-10-01&to=2026-11-01&audience=regulator": "regulator",
		"/console/reports/subject-access/download?param.subject_id=" + lookupCustomer + "&from=2026-10-01&to=2026-11-01&format=pdf":         "unknown format",
	} {
		if resp, body := o.consoleGet(t, c, path); resp.StatusCode != 400 || !strings.Contains(html.UnescapeString(body), want) {
			t.Errorf("%s: %d, want 400 saying %q:\n%s", path, resp.StatusCode, want, body)
		}
	}

	evs := o.lookupEvents(t, 3)
	for _, w := range []string{
		"alice," + lookupCustomer + ",customer_lookup,subject-access,view,4",
		"alice," + lookupCustomer + ",,subject-access-customer,csv,4",
		"alice,cust-k3-p1anted,customer_lookup,subject-access,view,0",
	} {
		if !slices.Contains(evs, w) {
			t.Errorf("no recorded console action %q in %q", w, evs)
		}
	}
	now := time.Now().UTC()
	q := url.Values{"from": {now.Add(-24 * time.Hour).Format(time.RFC3339)}, "to": {now.Add(time.Hour).Format(time.RFC3339)},
		"format": {"csv"}, "filter.actor": {"alice"}}
	resp, trail := o.read(t, "GET", "/v1/reports/officer-activity?"+q.Encode(), "alice", "")
	if resp.StatusCode != 200 || !regexp.MustCompile(`(?m)^[^,]+,alice,report run,subject-access,.*,view,4,ok,`).MatchString(trail) ||
		!regexp.MustCompile(`(?m)^[^,]+,alice,report run,subject-access-customer,.*,csv,4,ok,`).MatchString(trail) {
		t.Errorf("officer-activity lacks alice's lookup and download in the console: %d\n%s", resp.StatusCode, trail)
	}
}

// lookupEvents returns the console's recorded report runs as "actor,
// subject, action, report, format, rows", waiting until there are n.
func (o *officerServer) lookupEvents(t *testing.T, n int) []string {
	t.Helper()
	return o.trailLines(t, "SELECT actor_id, subject_id, attr_values[indexOf(attr_keys, 'console_action')] AS act, "+
		"attr_values[indexOf(attr_keys, 'report')] AS report, attr_values[indexOf(attr_keys, 'format')] AS format, record_count "+
		"FROM privaudit.access_events FINAL WHERE channel = 'console' AND purpose = 'audit_report' ORDER BY occurred_ns", n)
}

// mustAttrOf returns the attribute attr of the element sel.
func mustAttrOf(t *testing.T, b *browsertest.Browser, sel, attr string) string {
	t.Helper()
	r := browsertest.Must(t, b, "attribute "+attr+" of "+sel, chromedp.AttributeValue(chromedp.CSS(sel), attr))
	if !r.Exists {
		t.Fatalf("%s has no %s", sel, attr)
	}
	return r.Value
}

// jsString quotes s as a JavaScript string literal.
func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
