package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"

	"github.com/privaudit/privaudit/audit/auth"
	"github.com/privaudit/privaudit/audit/ingest/ingesttest"
	"github.com/privaudit/privaudit/queries"
	"github.com/privaudit/privaudit/reports/sqlconsole"
)

// queryServer serves /v1/query and /v1/queries over the reader user.
func queryServer(t *testing.T) *ingesttest.Env {
	t.Helper()
	env := ingesttest.Start(t, ingesttest.Options{Mux: func(e *ingesttest.Env, mux *http.ServeMux) {
		reader, err := clickhouse.Open(&clickhouse.Options{Addr: []string{e.CH.Addr},
			Auth: clickhouse.Auth{Username: e.CH.ReaderUser, Password: e.CH.ReaderPassword}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { reader.Close() })
		c, err := sqlconsole.New(sqlconsole.Options{Runner: queries.NewRunner(reader, queries.RunnerOptions{}),
			Schema: e.Schema, Record: e.Ingestor.Record, Logger: e.Log})
		if err != nil {
			t.Fatal(err)
		}
		c.Routes(mux, func(h http.Handler) http.Handler { return e.Tokens.Require(e.Log, h, auth.RoleOfficer) })
	}})
	ev := `{"event_id":"6f1c2d3e-4a5b-4c6d-8e7f-000000000001","occurred_at":"` + time.Now().UTC().Add(-time.Hour).Format(time.RFC3339) +
		`","actor_id":"svc","actor_type":"service","subject_id":"cust-1","action":"share","data_categories":["card_transactions"],` +
		`"recipient_id":"adnet","recipient_type":"third_party","purpose":"advertising","legal_basis":"consent"}`
	env.Ingest(t, "events", ev+"\n")
	return env
}

func runQueryCmd(t *testing.T, env *ingesttest.Env, role string, args ...string) (string, string, error) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	m := &Main{Stdout: &stdout, Stderr: &stderr}
	args = append(args, "--server", env.Server.URL, "--token", env.Token[role], "--data-dir", t.TempDir())
	err := m.query(context.Background(), args)
	return stdout.String(), stderr.String(), err
}

func TestQueryCommand(t *testing.T) {
	env := queryServer(t)
	out, _, err := runQueryCmd(t, env, auth.RoleOfficer, "SELECT subject_id, recipient_id FROM privaudit.access_events FINAL WHERE subject_id = 'cust-1'")
	if err != nil || out != "subject_id,recipient_id\ncust-1,adnet\n" {
		t.Errorf("ad-hoc csv (stdout not a terminal): %v\n%s", err, out)
	}
	out, _, err = runQueryCmd(t, env, auth.RoleOfficer, "SELECT 1 AS one, 'x' AS letter", "--format", "table")
	if err != nil || out != "one  letter\n---  ------\n  1  x\n(1 row)\n" {
		t.Errorf("table: %v\n%q", err, out)
	}
	out, _, err = runQueryCmd(t, env, auth.RoleOfficer, "--saved", "subject-recipients", "--param", "subject=cust-1", "--format", "json")
	var doc struct {
		Rows [][]any `json:"rows"`
	}
	if err != nil || json.Unmarshal([]byte(out), &doc) != nil || len(doc.Rows) != 1 || doc.Rows[0][0] != "adnet" {
		t.Errorf("saved json: %v\n%s", err, out)
	}
	out, _, err = runQueryCmd(t, env, auth.RoleOfficer, "--list")
	if err != nil || !strings.Contains(out, "shares-after-withdrawal — Shares after withdrawal") || !strings.Contains(out, "--param since=Date") {
		t.Errorf("list: %v\n%s", err, out)
	}

	_, _, err = runQueryCmd(t, env, auth.RoleOfficer, "DROP TABLE privaudit.access_events")
	if err == nil || !strings.Contains(err.Error(), "DROP statements are not allowed") {
		t.Errorf("drop: %v", err)
	}
	_, _, err = runQueryCmd(t, env, auth.RoleIngest, "SELECT 1")
	if err == nil || !strings.Contains(err.Error(), "officer") {
		t.Errorf("ingest token: %v", err)
	}
	_, _, err = runQueryCmd(t, env, auth.RoleOfficer, "--saved", "subject-recipients")
	if err == nil || !strings.Contains(err.Error(), `"subject" (String) is required`) {
		t.Errorf("missing param: %v", err)
	}
	_, _, err = runQueryCmd(t, env, auth.RoleOfficer, "SELECT 1", "--param", "a=b")
	if _, ok := err.(usageError); !ok {
		t.Errorf("params with SQL: %v", err)
	}
}

func TestQueryCommandFiles(t *testing.T) {
	env := queryServer(t)
	dir := t.TempDir()
	csvFile := filepath.Join(dir, "n.csv")
	_, stderr, err := runQueryCmd(t, env, auth.RoleOfficer, "SELECT number FROM system.numbers", "--out", csvFile)
	b, _ := os.ReadFile(csvFile)
	if err != nil || strings.Count(string(b), "\n") != 100_001 || !strings.Contains(stderr, "cut at the server's cap of 100000 rows") {
		t.Errorf("truncated csv: %v, %d lines\n%s", err, strings.Count(string(b), "\n"), stderr)
	}
	xlsxFile := filepath.Join(dir, "q.xlsx")
	_, stderr, err = runQueryCmd(t, env, auth.RoleOfficer, "SELECT recipient_id, count() AS events FROM privaudit.access_events GROUP BY recipient_id", "--out", xlsxFile)
	b, _ = os.ReadFile(xlsxFile)
	if err != nil || !bytes.HasPrefix(b, []byte("PK")) || !strings.Contains(stderr, "(1 rows)") {
		t.Errorf("xlsx: %v %d bytes\n%s", err, len(b), stderr)
	}
	failFile := filepath.Join(dir, "fail.csv")
	_, _, err = runQueryCmd(t, env, auth.RoleOfficer, "SELECT number, throwIf(number = 70000) FROM system.numbers LIMIT 90000", "--out", failFile)
	if err == nil || !strings.Contains(err.Error(), "throwIf") {
		t.Errorf("failing query: %v", err)
	}
	if _, statErr := os.Stat(failFile); statErr == nil {
		t.Error("a failed query left a file behind")
	}
}
