package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/privaudit/privaudit/audit/auth"
	"github.com/privaudit/privaudit/reports"
)

// officerServer is `privaudit serve` started in this process on the managed
// ClickHouse, with tokens of its own.
type officerServer struct {
	srv   *server
	token map[string]string // by name: ingest, alice, bob (officers)
}

func startOfficerServer(t *testing.T) *officerServer { return startOfficerServerWith(t, nil) }

// startOfficerServerWith is startOfficerServer with configure applied to
// the configuration before Validate.
func startOfficerServerWith(t *testing.T, configure func(*Config)) *officerServer {
	t.Helper()
	if testing.Short() {
		t.Skip("starts a managed ClickHouse")
	}
	var logs bytes.Buffer
	m := &Main{Config: DefaultConfig(), Stdout: io.Discard, Stderr: &logs}
	m.Config.DataDir, m.Config.Listen, m.Config.Ingest.Linger = t.TempDir(), "127.0.0.1:0", 20*time.Millisecond
	if configure != nil {
		configure(&m.Config)
	}
	if err := m.Config.Validate(); err != nil {
		t.Fatal(err)
	}
	m.Log = newLogger(&logs, "warn")
	ctx := context.Background()
	srv, err := m.startServer(ctx)
	if err != nil {
		t.Fatalf("serve: %v\n%s", err, logs.String())
	}
	t.Cleanup(func() { _ = srv.Shutdown() })
	o := &officerServer{srv: srv, token: map[string]string{}}
	for name, role := range map[string]string{"ingest": auth.RoleIngest, "alice": auth.RoleOfficer, "bob": auth.RoleOfficer} {
		if o.token[name], err = srv.tokens.Create(ctx, name, role); err != nil {
			t.Fatal(err)
		}
	}
	return o
}

// do sends a request as who ("" for none) and returns the response; the
// body is closed at cleanup.
func (o *officerServer) do(t *testing.T, method, path, who, body string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest(method, o.srv.URL+path, strings.NewReader(body))
	if who != "" {
		req.Header.Set("Authorization", "Bearer "+o.token[who])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

// read returns the status and whole body of a request.
func (o *officerServer) read(t *testing.T, method, path, who, body string) (*http.Response, string) {
	t.Helper()
	resp := o.do(t, method, path, who, body)
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

// hostileRecipients are recipient ids a spreadsheet would run as formulas.
var hostileRecipients = []string{`=HYPERLINK("http://x.example","y")`, "+1", "@a", "\tx", "-2+3", "\rz"}

// ingestHostile stores one disclosure per hostile recipient id and waits
// until the officer's reader sees them all.
func (o *officerServer) ingestHostile(t *testing.T) {
	t.Helper()
	var b strings.Builder
	at := time.Date(2026, 10, 5, 9, 0, 0, 0, time.UTC).Format(time.RFC3339)
	for i, rcp := range hostileRecipients {
		ev, _ := json.Marshal(map[string]any{"event_id": "6f1c2d3e-4a5b-4c6d-8e7f-00000000010" + string(rune('0'+i)),
			"occurred_at": at, "actor_id": "svc", "actor_type": "service", "subject_id": "cust-1", "action": "share",
			"data_categories": []string{"account_balance"}, "recipient_id": rcp, "recipient_type": "third_party",
			"purpose": "balance_inquiry", "legal_basis": "consent"})
		b.Write(append(ev, '\n'))
	}
	if resp, body := o.read(t, "POST", "/v1/events", "ingest", b.String()); resp.StatusCode != 200 {
		t.Fatalf("ingest: %d %s", resp.StatusCode, body)
	}
	q := `{"sql": "SELECT count() FROM privaudit.access_events FINAL WHERE recipient_type = 'third_party'", "format": "csv"}`
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		_, body := o.read(t, "POST", "/v1/query", "alice", q)
		if body == "count()\n6\n" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the ingested events never became visible: %s", body)
		}
	}
}

// TestCSVNeutralisesFormulas: in the csv of a report and of an ad-hoc query
// a text cell a spreadsheet would read as a formula starts with ', numbers
// stay numbers, json stays exact, and the report's recorded SHA-256 is the
// digest of the csv file as downloaded.
func TestCSVNeutralisesFormulas(t *testing.T) {
	o := startOfficerServer(t)
	o.ingestHostile(t)
	want := map[string]bool{}
	for _, r := range hostileRecipients {
		want["'"+r] = true
	}
	check := func(what, body string, col int) {
		t.Helper()
		if !strings.Contains(body, "\"'\rz\"") || !strings.Contains(body, "'\tx") {
			t.Errorf("%s: the CR or tab cell is not neutralised:\n%q", what, body)
		}
		recs, err := csv.NewReader(strings.NewReader(body)).ReadAll()
		if err != nil || len(recs) != len(hostileRecipients)+1 {
			t.Fatalf("%s: %d records (%v):\n%s", what, len(recs), err, body)
		}
		for _, rec := range recs[1:] {
			if !want[rec[col]] {
				t.Errorf("%s: cell %q is not a neutralised hostile recipient id", what, rec[col])
			}
		}
	}
	const period = "from=2026-10-01&to=2026-11-01"
	resp, body := o.read(t, "GET", "/v1/reports/disclosures?format=csv&"+period, "alice", "")
	if resp.StatusCode != 200 {
		t.Fatalf("csv report: %d %s", resp.StatusCode, body)
	}
	check("disclosures csv", body, 3)
	sum := sha256.Sum256([]byte(body))
	if got := resp.Trailer.Get("X-Privaudit-Sha256"); got != hex.EncodeToString(sum[:]) {
		t.Errorf("recorded SHA-256 %q is not the digest of the csv file %x", got, sum)
	}
	// serve's reports wait for the verdict store and state the position.
	if pos, err := time.Parse(time.RFC3339Nano, resp.Trailer.Get(reports.TrailerLedger)); err != nil || time.Since(pos) > time.Hour {
		t.Errorf("ledger position %q: want the time the report waited for (%v)", resp.Trailer.Get(reports.TrailerLedger), err)
	}
	_, js := o.read(t, "GET", "/v1/reports/disclosures?format=json&"+period, "alice", "")
	for _, r := range hostileRecipients {
		if b, _ := json.Marshal(r); !strings.Contains(js, `"recipient_id":`+string(b)) {
			t.Errorf("json report lacks the exact recipient_id %s", b)
		}
	}

	q := `{"sql": "SELECT event_id, recipient_id, -5 AS n FROM privaudit.access_events FINAL WHERE recipient_type = 'third_party' ORDER BY event_id", "format": "%s"}`
	_, body = o.read(t, "POST", "/v1/query", "alice", strings.Replace(q, "%s", "csv", 1))
	check("query csv", body, 1)
	if !strings.Contains(body, ",-5\n") {
		t.Errorf("query csv: the number -5 must stay a number:\n%s", body)
	}
	_, js = o.read(t, "POST", "/v1/query", "alice", strings.Replace(q, "%s", "json", 1))
	for _, r := range hostileRecipients {
		if b, _ := json.Marshal(r); !strings.Contains(js, string(b)+",-5]") {
			t.Errorf("query json lacks the exact recipient_id %s:\n%s", b, js)
		}
	}
}

// TestAdHocSlotsPerToken: an officer holding two ad-hoc queries (their
// results unread, so they stay running) gets 429 with Retry-After for a
// third, while another officer's query and a report still run; once the two
// end, the first officer may query again. A lower-case bearer scheme works.
func TestAdHocSlotsPerToken(t *testing.T) {
	o := startOfficerServer(t)
	o.ingestHostile(t)
	// ~30 MB of json: more than the socket buffers hold, so the handler
	// blocks writing while nobody reads, and the query keeps its slot.
	big := `{"sql": "SELECT range(toUInt16(500)) AS pad FROM (SELECT arrayJoin(range(15000)) AS i)"}`
	var held []*http.Response
	for range 2 {
		resp := o.do(t, "POST", "/v1/query", "alice", big)
		if resp.StatusCode != 200 {
			b, _ := io.ReadAll(resp.Body)
			t.Fatalf("slow query: %d %s", resp.StatusCode, b)
		}
		held = append(held, resp)
	}
	resp, body := o.read(t, "POST", "/v1/query", "alice", `{"sql": "SELECT 1"}`)
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" ||
		!strings.Contains(body, "limit per token") {
		t.Fatalf("third query of one token: %d Retry-After %q %s", resp.StatusCode, resp.Header.Get("Retry-After"), body)
	}
	if resp, body := o.read(t, "POST", "/v1/query", "bob", `{"sql": "SELECT 1", "format": "csv"}`); resp.StatusCode != 200 || body != "1\n1\n" {
		t.Fatalf("another officer's query: %d %q", resp.StatusCode, body)
	}
	if resp, body := o.read(t, "GET", "/v1/reports/disclosures?format=csv&from=2026-10-01&to=2026-11-01", "alice", ""); resp.StatusCode != 200 ||
		strings.Count(body, "\n") != len(hostileRecipients)+1 {
		t.Fatalf("a report while ad-hoc slots are held: %d %s", resp.StatusCode, body)
	}
	for _, r := range held {
		r.Body.Close()
	}
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		req, _ := http.NewRequest("POST", o.srv.URL+"/v1/query", strings.NewReader(`{"sql": "SELECT 1", "format": "csv"}`))
		req.Header.Set("Authorization", "bearer  "+o.token["alice"]+" ")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == 200 && string(b) == "1\n1\n" {
			break
		}
		if resp.StatusCode != http.StatusTooManyRequests || time.Now().After(deadline) {
			t.Fatalf("after the held queries end (lower-case bearer): %d %s", resp.StatusCode, b)
		}
	}
	// The refusal is in the audit trail like any other refused run.
	audited := `{"sql": "SELECT count() FROM privaudit.access_events FINAL WHERE subject_id = 'privaudit:query' AND actor_id = 'alice' AND outcome = 'denied' AND attr_values[indexOf(attr_keys, 'status')] = 'refused' AND attr_values[indexOf(attr_keys, 'error')] = 'busy'", "format": "csv"}`
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		resp, body := o.read(t, "POST", "/v1/query", "bob", audited)
		// At least the one refusal above; the wait for the held queries
		// to end may have been refused again.
		if n, err := strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(body, "count()\n"))); resp.StatusCode == 200 && err == nil && n >= 1 {
			return
		}
		if resp.StatusCode != 200 || time.Now().After(deadline) {
			t.Fatalf("the 429 refusal is not in the audit trail: %d %q", resp.StatusCode, body)
		}
	}
}
