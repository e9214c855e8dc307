package console

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"

	"github.com/privaudit/privaudit/audit/ingest/ingesttest"
	"github.com/privaudit/privaudit/queries"
	"github.com/privaudit/privaudit/reports/sqlconsole"
)

// queryConsole is a console whose Query page runs on a real ClickHouse
// (the managed server's read-only reader) with the runner options ro, and
// a session of alice's.
type queryConsole struct {
	mux *http.ServeMux
	se  session
}

func startQueryConsole(t *testing.T, ro queries.RunnerOptions) *queryConsole {
	t.Helper()
	if testing.Short() {
		t.Skip("starts a managed ClickHouse")
	}
	e := ingesttest.Start(t, ingesttest.Options{})
	reader, err := clickhouse.Open(&clickhouse.Options{Addr: []string{e.CH.Addr}, MaxOpenConns: 4, DialTimeout: 5 * time.Second,
		Auth: clickhouse.Auth{Username: e.CH.ReaderUser, Password: e.CH.ReaderPassword}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { reader.Close() })
	sc, err := sqlconsole.New(sqlconsole.Options{Runner: queries.NewRunner(reader, ro), Schema: e.Schema,
		Record: e.Ingestor.Record, WaitVerdicts: e.Ingestor.WaitVerdicts, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	c, err := New(Options{Tokens: tokens{"pa_a1_s": alice}, Record: e.Ingestor.Record, Query: sc,
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	q := &queryConsole{mux: http.NewServeMux(), se: c.sessions.open(alice)}
	c.Routes(q.mux)
	return q
}

// post sends the Query page's form with the session's cookie and CSRF
// token.
func (q *queryConsole) post(t *testing.T, form url.Values) (*http.Response, string) {
	t.Helper()
	form.Set(csrfField, q.se.CSRF)
	req := httptest.NewRequest("POST", Prefix+"query", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.AddCookie(&http.Cookie{Name: sessionCookie, Value: q.se.ID})
	rec := httptest.NewRecorder()
	q.mux.ServeHTTP(rec, req.WithContext(context.Background()))
	body, _ := io.ReadAll(rec.Body)
	return rec.Result(), string(body)
}

// TestQueryPageRowCap: a result longer than the row cap is cut there, and
// the page says so on every page; the last page holds the rows up to the
// cap; the xlsx export holds the same capped result and says it was cut.
func TestQueryPageRowCap(t *testing.T) {
	q := startQueryConsole(t, queries.RunnerOptions{MaxRows: 120})
	sql := "SELECT arrayJoin(range(500)) AS n"
	resp, body := q.post(t, url.Values{"sql": {sql}})
	if resp.StatusCode != 200 || !strings.Contains(body, "Rows 1–100 of 120 (page 1 of 2)") {
		t.Fatalf("first page: %d, no count of the capped result:\n%s", resp.StatusCode, body)
	}
	if !strings.Contains(body, "cut at the row cap of 120 rows") {
		t.Errorf("the first page does not say the result was cut at the row cap:\n%s", body)
	}
	_, body = q.post(t, url.Values{"sql": {sql}, "page": {"2"}})
	// Result rows are one-cell rows; the recent-queries list below may show
	// a count of 120 in a cell of its own.
	if !strings.Contains(body, "Rows 101–120 of 120 (page 2 of 2)") || !strings.Contains(body, "<tr><td class=\"num\">119</td></tr>") ||
		strings.Contains(body, "<tr><td class=\"num\">120</td></tr>") || !strings.Contains(body, "cut at the row cap") {
		t.Errorf("second page: want rows 101–120 (n 100 to 119) and the cut:\n%s", body)
	}
	resp, body = q.post(t, url.Values{"sql": {sql}, "export": {"xlsx"}})
	if resp.StatusCode != 200 || !strings.HasPrefix(body, "PK") ||
		resp.Header.Get(sqlconsole.HeaderRows) != "120" || resp.Header.Get(sqlconsole.HeaderTruncated) != "true" {
		t.Errorf("xlsx export: %d %q rows %q truncated %q; want a workbook of the 120 capped rows", resp.StatusCode,
			resp.Header.Get("Content-Type"), resp.Header.Get(sqlconsole.HeaderRows), resp.Header.Get(sqlconsole.HeaderTruncated))
	}
}

// TestQueryPageTimeout: a query stopped by the runner's time limit is
// explained with what to do: narrow the period.
func TestQueryPageTimeout(t *testing.T) {
	q := startQueryConsole(t, queries.RunnerOptions{Timeout: 200 * time.Millisecond})
	resp, body := q.post(t, url.Values{"sql": {"SELECT sleep(2)"}})
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "ran too long and was stopped") ||
		!strings.Contains(body, "Narrow the period") {
		t.Errorf("a query past the time limit: %d, want it explained with what to do:\n%s", resp.StatusCode, body)
	}
}

// TestLeadingStatement: the refused statement is named with what it acts
// on, past comments and parentheses; a read is not a write.
func TestLeadingStatement(t *testing.T) {
	for sql, want := range map[string]string{
		"DROP TABLE privaudit.access_events":             "DROP TABLE",
		"-- clean up\n /* really */ drop table x":        "DROP TABLE",
		"insert into privaudit.access_events values (1)": "INSERT",
		"ALTER TABLE t DELETE WHERE 1":                   "ALTER TABLE",
		"(SELECT 1)":                                     "",
	} {
		kw, write := leadingStatement(sql)
		if !write {
			kw = ""
		}
		if kw != want {
			t.Errorf("leadingStatement(%q) = %q, want %q", sql, kw, want)
		}
	}
}

// TestQueryPageOff: without ad-hoc SQL (no reader) the Query page says
// queries are off and what to do.
func TestQueryPageOff(t *testing.T) {
	c, mux := newTestConsole(t)
	se := c.sessions.open(alice)
	req := httptest.NewRequest("GET", Prefix+"query", nil)
	req.AddCookie(&http.Cookie{Name: sessionCookie, Value: se.ID})
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, req)
	if body := rec.Body.String(); rec.Code != http.StatusNotFound || !strings.Contains(body, "Queries are off") || !strings.Contains(body, "reader_user") {
		t.Errorf("Query page without a reader: %d\n%s", rec.Code, body)
	}
}

// TestQueryPageRequiredField: a required saved-query field sent empty is
// reported as required, with the field's name, not run with an empty
// value; the form keeps what was given.
func TestQueryPageRequiredField(t *testing.T) {
	q := startQueryConsole(t, queries.RunnerOptions{})
	resp, body := q.post(t, url.Values{"saved": {"subject-recipients"}, "p.subject": {""}})
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "not filled in right") ||
		!strings.Contains(body, `parameter &#34;subject&#34; (String) is required`) || !strings.Contains(body, `id="param-subject"`) {
		t.Errorf("subject-recipients with its required subject empty: %d\n%s", resp.StatusCode, body)
	}
}
