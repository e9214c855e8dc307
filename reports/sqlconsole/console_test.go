package sqlconsole

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"github.com/privaudit/privaudit/audit/auth"
)

func TestHTTPAuth(t *testing.T) {
	f := startFixture(t, fixtureOptions{})
	body := Request{SQL: "SELECT 1 AS one"}
	for _, c := range []struct {
		token string
		want  int
	}{
		{"", http.StatusUnauthorized},
		{"pa_nope_nope", http.StatusUnauthorized},
		{f.env.Token[auth.RoleIngest], http.StatusForbidden},
		{f.env.Token[auth.RoleOfficer], http.StatusOK},
		{f.env.Token[auth.RoleAdmin], http.StatusOK},
	} {
		resp := f.post(t, c.token, body)
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != c.want {
			t.Errorf("token %.12q: %d %s, want %d", c.token, resp.StatusCode, b, c.want)
		}
	}
	for role, want := range map[string]int{auth.RoleIngest: http.StatusForbidden, auth.RoleOfficer: http.StatusOK, "": http.StatusUnauthorized} {
		req, _ := http.NewRequest(http.MethodGet, f.env.Server.URL+"/v1/queries", nil)
		if role != "" {
			req.Header.Set("Authorization", "Bearer "+f.env.Token[role])
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var list ListResponse
		_ = json.NewDecoder(resp.Body).Decode(&list)
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("GET /v1/queries as %q: %d, want %d", role, resp.StatusCode, want)
		}
		if want == http.StatusOK && (len(list.Queries) < 5 || list.MaxRows != 100_000 || len(list.Queries[0].Params) == 0 && list.Queries[0].Name == "") {
			t.Errorf("list = %+v", list)
		}
	}
}

const typedSQL = `SELECT number AS n, toString(number) AS s, [toString(number), 'x;y'] AS l,
	toDateTime('2024-05-01 10:00:00') + number AS t, NULL AS z, number / 2 AS f, toDate('2024-05-01') AS d
FROM system.numbers LIMIT 3`

func TestHTTPFormats(t *testing.T) {
	f := startFixture(t, fixtureOptions{})
	code, body, tr := f.query(t, Request{SQL: typedSQL})
	doc := decodeJSONResult(t, body)
	if code != 200 || len(doc.Rows) != 3 || doc.RowsReturned != 3 || doc.Truncated || tr.Get(HeaderRows) != "3" || tr.Get(HeaderTruncated) != "false" {
		t.Fatalf("json: %d %+v trailers %v", code, doc, tr)
	}
	if r := doc.Rows[1]; r[0] != json.Number("1") || r[1] != "1" || r[3] != "2024-05-01T10:00:01Z" || r[4] != nil || r[5] != json.Number("0.5") || r[6] != "2024-05-01T00:00:00Z" {
		t.Errorf("json row = %#v", r)
	}
	if l, _ := doc.Rows[0][2].([]any); len(l) != 2 || l[1] != "x;y" {
		t.Errorf("json list = %#v", doc.Rows[0][2])
	}

	_, body, _ = f.query(t, Request{SQL: typedSQL, Format: "csv"})
	recs, err := csv.NewReader(strings.NewReader(body)).ReadAll()
	if err != nil || len(recs) != 4 || strings.Join(recs[0], ",") != "n,s,l,t,z,f,d" || strings.Join(recs[2], ",") != "1,1,1;x;y,2024-05-01T10:00:01Z,,0.5,2024-05-01T00:00:00Z" {
		t.Errorf("csv: %v\n%s", err, body)
	}

	_, body, _ = f.query(t, Request{SQL: typedSQL, Format: "ndjson"})
	lines := strings.Split(strings.TrimSpace(body), "\n")
	var obj map[string]any
	if len(lines) != 3 || json.Unmarshal([]byte(lines[2]), &obj) != nil || obj["s"] != "2" || obj["z"] != nil {
		t.Errorf("ndjson: %s", body)
	}

	_, body, _ = f.query(t, Request{SQL: "SELECT number AS n, substring('abab', 1, number * 2) AS text FROM system.numbers LIMIT 3", Format: "table"})
	want := "n  text\n-  ----\n0\n1  ab\n2  abab\n(3 rows)\n"
	if body != want {
		t.Errorf("table:\n%s\nwant:\n%s", body, want)
	}

	resp := f.post(t, f.env.Token[auth.RoleOfficer], Request{SQL: typedSQL, Format: "xlsx"})
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || resp.Header.Get(HeaderRows) != "3" || !strings.Contains(resp.Header.Get("Content-Disposition"), ".xlsx") {
		t.Fatalf("xlsx: %d %v", resp.StatusCode, resp.Header)
	}
	wb, err := excelize.OpenReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer wb.Close()
	rows, err := wb.GetRows("Detail")
	if err != nil || len(rows) != 4 || rows[0][0] != "n" || rows[2][1] != "1" || rows[2][2] != "1;x;y" {
		t.Errorf("xlsx detail: %v %v", rows, err)
	}
	about, _ := wb.GetRows("About")
	if !strings.Contains(flatten(about), "SELECT number AS n") {
		t.Errorf("the About sheet lacks the SQL: %v", about)
	}
}

func flatten(rows [][]string) string {
	var b strings.Builder
	for _, r := range rows {
		b.WriteString(strings.Join(r, "\t") + "\n")
	}
	return b.String()
}

func TestHTTPTruncationAndStreamErrors(t *testing.T) {
	f := startFixture(t, fixtureOptions{})
	code, body, tr := f.query(t, Request{SQL: "SELECT number FROM system.numbers"})
	doc := decodeJSONResult(t, body)
	if code != 200 || len(doc.Rows) != 100_000 || !doc.Truncated || tr.Get(HeaderTruncated) != "true" || tr.Get(HeaderRows) != "100000" {
		t.Errorf("endless query: %d rows, truncated %v, trailers %v", len(doc.Rows), doc.Truncated, tr)
	}
	_, body, tr = f.query(t, Request{SQL: "SELECT number FROM system.numbers LIMIT 5", Format: "table"})
	if !strings.HasSuffix(body, "(5 rows)\n") || tr.Get(HeaderTruncated) != "false" {
		t.Errorf("table footer: %q", body)
	}
	// An error after the first rows were sent ends the stream with an error
	// in the document and in the trailer.
	const failing = "SELECT number, throwIf(number = 70000) AS boom FROM system.numbers LIMIT 90000"
	code, body, tr = f.query(t, Request{SQL: failing})
	doc = decodeJSONResult(t, body)
	if code != 200 || doc.Error == nil || doc.Error.Kind != "invalid" || len(doc.Rows) == 0 || tr.Get(HeaderError) == "" {
		t.Errorf("mid-stream error: %d rows, error %+v, trailers %v", len(doc.Rows), doc.Error, tr)
	}
	_, body, tr = f.query(t, Request{SQL: failing, Format: "csv"})
	if !strings.Contains(tr.Get(HeaderError), "throwIf") {
		t.Errorf("csv mid-stream error trailer: %v", tr)
	}
	// xlsx renders only complete results: the error is an ordinary 400.
	code, body, _ = f.query(t, Request{SQL: failing, Format: "xlsx"})
	if code != http.StatusBadRequest || !strings.Contains(body, "throwIf") {
		t.Errorf("xlsx of a failing query: %d %.300s", code, body)
	}
}

func TestHTTPErrors(t *testing.T) {
	f := startFixture(t, fixtureOptions{})
	cases := []struct {
		body any
		code int
		want string
	}{
		{Request{SQL: "DROP TABLE privaudit.access_events"}, 400, "DROP statements are not allowed"},
		{Request{SQL: "SELECT * FROM privaudit_meta.api_tokens"}, 400, "Access denied to database privaudit_meta"},
		{Request{SQL: "DESCRIBE TABLE privaudit_meta.api_tokens"}, 400, "Access denied to database privaudit_meta"},
		{Request{SQL: "SELECT nope FROM privaudit.access_events"}, 400, "query failed"},
		{Request{SQL: "EXPLAIN SELECT 1"}, 400, "does not support EXPLAIN"}, // ClickHouse 18.16
		{Request{Saved: "nope"}, 404, "no saved query"},
		{Request{Saved: "subject-recipients"}, 400, `parameter \"subject\" (String) is required`},
		{Request{Saved: "denied-accesses", Params: map[string]string{"since": "yesterday", "until": "2024-01-01"}}, 400, "not a Date"},
		{Request{SQL: "SELECT 1", Format: "pdf"}, 400, "unknown format"},
		{Request{SQL: "SELECT 1", Saved: "denied-accesses"}, 400, "either"},
		{Request{SQL: "SELECT 1", Params: map[string]string{"a": "b"}}, 400, "params"},
		{`{"sql": "SELECT 1", "fromat": "csv"}`, 400, "unknown field"},
		{`{"sql": "SELECT 1"} {"sql": "SELECT 2"}`, 400, "one JSON object"},
	}
	for _, c := range cases {
		resp := f.post(t, f.env.Token[auth.RoleOfficer], c.body)
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != c.code || !strings.Contains(string(b), c.want) {
			t.Errorf("%v: %d %s, want %d containing %q", c.body, resp.StatusCode, b, c.code, c.want)
		}
		if strings.Contains(string(b), "Stack trace") {
			t.Errorf("%v: stack trace in %s", c.body, b)
		}
	}
}

// auditRec is one query-run access event as stored.
type auditRec struct {
	actor, actorType, action, purpose, basis, outcome string
	count                                             uint64
	recipient                                         string
	cats, keys, vals                                  []string
	requestID                                         string
	attrs                                             map[string]string
}

// queryEvents reads the stored query-run events in run order.
func queryEvents(t *testing.T, f *fixture) []auditRec {
	t.Helper()
	f.env.WaitStored(t)
	rows, err := f.env.Conn.Query(context.Background(), `SELECT actor_id, actor_type, action, purpose, legal_basis, outcome,
		record_count, recipient_id, data_categories, attr_keys, attr_values, request_id
		FROM privaudit.access_events FINAL WHERE subject_id = 'privaudit:query' ORDER BY occurred_ns, ingest_seq`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var got []auditRec
	for rows.Next() {
		var r auditRec
		if err := rows.Scan(&r.actor, &r.actorType, &r.action, &r.purpose, &r.basis, &r.outcome, &r.count, &r.recipient, &r.cats, &r.keys, &r.vals, &r.requestID); err != nil {
			t.Fatal(err)
		}
		r.attrs = attrsOf(r.keys, r.vals)
		got = append(got, r)
	}
	return got
}

// TestEachRunAudited: every run, whatever its outcome, is an access event;
// parameter values reach neither the audit trail nor the logs.
func TestEachRunAudited(t *testing.T) {
	f := startFixture(t, fixtureOptions{})
	secret := "cust-7f3a-secret-subject"
	runs := []struct {
		req    Request
		status string
		count  uint64
	}{
		{Request{SQL: "SELECT 1 AS one -- first"}, "ok", 1},
		{Request{SQL: "INSERT INTO privaudit.access_events (event_id) VALUES ('x')"}, "refused", 0},
		{Request{SQL: "SELECT * FROM privaudit_meta.api_tokens"}, "refused", 0},
		{Request{SQL: "SELECT missing_column FROM privaudit.access_events"}, "error", 0},
		{Request{Saved: "subject-recipients", Params: map[string]string{"subject": secret}, Format: "csv"}, "ok", 0},
		{Request{Saved: "subject-recipients", Params: map[string]string{"subject": secret, "bogus": "x"}}, "error", 0},
		{Request{SQL: "SELECT number FROM system.numbers", Format: "ndjson"}, "ok", 100_000},
		{Request{SQL: "SELECT '" + strings.Repeat("é", 3000) + "' AS long"}, "ok", 1},
		// Control characters an access event may not hold, in a comment
		// and a literal: the run is audited all the same.
		{Request{SQL: "SELECT 1 AS one /* \x01\x0b */, '\u0085' AS nel"}, "ok", 1},
	}
	for _, r := range runs {
		f.query(t, r.req)
	}
	got := queryEvents(t, f)
	if len(got) != len(runs) {
		t.Fatalf("%d audit events for %d runs", len(got), len(runs))
	}
	for i, r := range got {
		if r.actor != "test-officer" || r.actorType != "employee" || r.action != "read" || r.purpose != "audit_query" ||
			r.basis != "legal_obligation" || r.recipient != "internal" || strings.Join(r.cats, ",") != "audit_log" {
			t.Errorf("run %d: event %+v", i, r)
		}
		if r.attrs["status"] != runs[i].status || r.count != runs[i].count || (r.outcome == "denied") != (runs[i].status == "refused") {
			t.Errorf("run %d: status %q, record_count %d, outcome %s; want %q, %d", i, r.attrs["status"], r.count, r.outcome, runs[i].status, runs[i].count)
		}
		if len(r.attrs["sql"]) > 4096 || r.attrs["sql"] == "" || strings.Contains(strings.Join(r.vals, "\n"), secret) {
			t.Errorf("run %d: sql attribute of %d bytes, or a parameter value in %v", i, len(r.attrs["sql"]), r.attrs)
		}
	}
	checkAuditAttributes(t, got)
	logs := f.logs.String()
	if strings.Contains(logs, secret) || strings.Contains(logs, "SELECT") {
		t.Errorf("the logs hold SQL or parameter values:\n%s", logs)
	}
	if strings.Count(logs, "query run") != len(runs) {
		t.Errorf("%d runs logged, want %d:\n%s", strings.Count(logs, "query run"), len(runs), logs)
	}
}

// checkAuditAttributes checks the attributes of TestEachRunAudited's runs.
func checkAuditAttributes(t *testing.T, got []auditRec) {
	t.Helper()
	if a := got[0].attrs; a["sql"] != "SELECT 1 AS one -- first" || !strings.HasPrefix(a["query_id"], "privaudit-query-") || got[0].requestID != a["query_id"] {
		t.Errorf("ad-hoc run attributes: %v", a)
	}
	if a := got[4].attrs; a["saved"] != "subject-recipients" || a["params"] != "subject" || !strings.Contains(a["sql"], "subject_id = @subject") || a["format"] != "csv" {
		t.Errorf("saved run attributes: %v", a)
	}
	if a := got[5].attrs; a["params"] != "bogus,subject" || a["error"] != "invalid" {
		t.Errorf("bad params run attributes: %v", a)
	}
	if a := got[6].attrs; a["truncated"] != "true" {
		t.Errorf("truncated run attributes: %v", a)
	}
	if a := got[7].attrs; !strings.HasSuffix(a["sql"], "… [truncated, 6017 bytes in all]") {
		t.Errorf("long SQL attribute ends %q", a["sql"][len(a["sql"])-60:])
	}
}

func attrsOf(keys, vals []string) map[string]string {
	m := map[string]string{}
	for i, k := range keys {
		m[k] = vals[i]
	}
	return m
}
