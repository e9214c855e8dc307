package main

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/privaudit/privaudit/audit"
	"github.com/privaudit/privaudit/audit/auth"
	"github.com/privaudit/privaudit/audit/ingest/ingesttest"
	"github.com/privaudit/privaudit/reports"
)

// reportServer serves the report API over the golden data set of the
// reports package; failRecord makes every run fail after rendering.
func reportServer(t *testing.T, failRecord bool) *ingesttest.Env {
	t.Helper()
	env := ingesttest.Start(t, ingesttest.Options{Mux: func(e *ingesttest.Env, mux *http.ServeMux) {
		rec := reports.Recorder(e.Ingestor.Record)
		if failRecord {
			rec = func(context.Context, ...audit.Event) error { return errors.New("spool full") }
		}
		r, err := reports.NewRunner(reports.Options{Conn: e.Conn, Schema: e.Schema, Recorder: rec, Logger: e.Log})
		if err != nil {
			t.Fatal(err)
		}
		reports.Routes(mux, r, e.Tokens, e.Log)
	}})
	for _, f := range []struct {
		kind audit.Kind
		name string
	}{{audit.KindConsents, "consents.ndjson"}, {audit.KindEvents, "events.ndjson"}} {
		b, err := os.ReadFile(filepath.Join("..", "..", "reports", "testdata", f.name))
		if err != nil {
			t.Fatal(err)
		}
		env.Ingest(t, f.kind, string(b))
	}
	return env
}

func runReport(t *testing.T, env *ingesttest.Env, role string, args ...string) (string, string, error) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	m := &Main{Stdout: &stdout, Stderr: &stderr}
	args = append(args, "--server", env.Server.URL, "--token", env.Token[role], "--data-dir", t.TempDir())
	err := m.report(context.Background(), args)
	return stdout.String(), stderr.String(), err
}

func TestReportCommand(t *testing.T) {
	env := reportServer(t, false)
	out, _, err := runReport(t, env, auth.RoleOfficer, "list")
	if err != nil || !strings.Contains(out, "subject-access") || !strings.Contains(out, "subject_id (required)") ||
		!strings.Contains(out, "backdated_days=7") || !strings.Contains(out, "csv, html, json, xlsx") {
		t.Fatalf("list: %v\n%s", err, out)
	}

	dir := t.TempDir()
	file := filepath.Join(dir, "d.csv")
	_, stderr, err := runReport(t, env, auth.RoleOfficer, "run", "disclosures", "--from", "2026-10-01", "--to", "2026-11-01", "--out", file)
	if err != nil {
		t.Fatalf("run: %v\n%s", err, stderr)
	}
	b, err := os.ReadFile(file)
	if err != nil || !strings.HasPrefix(string(b), "event_id,occurred_at,") || strings.Count(string(b), "\n") != 32 {
		t.Errorf("csv file (%v): %.200s", err, b)
	}
	if !strings.Contains(stderr, "31 rows") || !strings.Contains(stderr, "sha256") ||
		!regexp.MustCompile(`proof log checkpoint (none|disabled|size=\d+ root=[0-9a-f]{64} )`).MatchString(stderr) {
		t.Errorf("stderr: %s", stderr)
	}

	// No --out: the server's file name, in the current directory.
	t.Chdir(dir)
	if _, stderr, err := runReport(t, env, auth.RoleOfficer, "run", "--from", "2026-10-01", "--to", "2026-11-01", "--format", "xlsx",
		"--param", "subject_id=cust-01", "subject-access"); err != nil {
		t.Fatalf("xlsx: %v %s", err, stderr)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "subject-access_2026-10-01_2026-11-01.xlsx")); err != nil || !bytes.HasPrefix(b, []byte("PK")) {
		t.Errorf("xlsx file: %v", err)
	}

	errs := []struct {
		role string
		args []string
		msg  string
	}{
		{auth.RoleOfficer, []string{"run", "disclosure", "--from", "2026-10-01", "--to", "2026-11-01"}, "unknown report \"disclosure\" (did you mean disclosures?); the catalog has: access-review"},
		{auth.RoleOfficer, []string{"run", "disclosures", "--from", "2026-11-01", "--to", "2026-10-01"}, "empty period"},
		{auth.RoleOfficer, []string{"run", "disclosures", "--from", "1 October", "--to", "2026-10-01"}, "neither a date"},
		{auth.RoleOfficer, []string{"run", "subject-access", "--from", "2026-10-01", "--to", "2026-11-01"}, "needs parameter subject_id"},
		{auth.RoleIngest, []string{"run", "disclosures", "--from", "2026-10-01", "--to", "2026-11-01"}, "officer or admin token"},
	}
	for _, e := range errs {
		if _, _, err := runReport(t, env, e.role, e.args...); err == nil || !strings.Contains(err.Error(), e.msg) {
			t.Errorf("%v: error %v, want %q", e.args, err, e.msg)
		}
	}
}

func TestReportCommandInterrupted(t *testing.T) {
	env := reportServer(t, true)
	dir := t.TempDir()
	file := filepath.Join(dir, "d.csv")
	_, _, err := runReport(t, env, auth.RoleOfficer, "run", "disclosures", "--from", "2026-10-01", "--to", "2026-11-01", "--out", file)
	if err == nil || !strings.Contains(err.Error(), "nothing was written") {
		t.Errorf("error %v", err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("an interrupted download left %v", ents)
	}
}

// TestReportOutContradictsFormat: an --out whose extension names another
// format than --format is refused before anything is asked of the server.
func TestReportOutContradictsFormat(t *testing.T) {
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), []string{"report", "run", "disclosures", "--from", "2026-10-01", "--to", "2026-11-01",
		"--format", "csv", "--out", "disclosures.xlsx", "--server", "127.0.0.1:1", "--token", "pa_x"}, &stdout, &stderr)
	var ue usageError
	if !errors.As(err, &ue) || !strings.Contains(err.Error(), "--out disclosures.xlsx is a .xlsx file but --format is csv") {
		t.Fatalf("err %v, want a usage error naming both", err)
	}
	err = run(context.Background(), []string{"report", "run", "disclosures", "--from", "2026-10-01", "--to", "2026-11-01",
		"--format", "csv", "--out", "disclosures.csv", "--server", "127.0.0.1:1", "--token", "pa_x"}, &stdout, &stderr)
	if errors.As(err, &ue) || err == nil || !strings.Contains(err.Error(), "http://127.0.0.1:1") {
		t.Fatalf("matching --out and --format: err %v, want the server (given without a scheme) tried", err)
	}
}

// TestSubjectAccessUnknownCustomer: a mistyped customer id, about whom
// nothing is recorded, warns and fails instead of passing as an empty
// report; --allow-empty accepts it; a known customer passes.
func TestSubjectAccessUnknownCustomer(t *testing.T) {
	env := reportServer(t, false)
	dir := t.TempDir()
	args := func(id string, extra ...string) []string {
		return append([]string{"run", "subject-access", "--from", "2026-10-01", "--to", "2026-11-01",
			"--param", "subject_id=" + id, "--out", filepath.Join(dir, id+".csv")}, extra...)
	}
	_, _, err := runReport(t, env, auth.RoleOfficer, args("cust-1O")...)
	if err == nil || !strings.Contains(err.Error(), `nothing at all is recorded about subject_id "cust-1O"`) ||
		!strings.Contains(err.Error(), "--allow-empty") {
		t.Fatalf("unknown customer: err %v, want a failure naming the id and --allow-empty", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "cust-1O.csv")); err != nil {
		t.Errorf("the empty report should still be written: %v", err)
	}
	if _, stderr, err := runReport(t, env, auth.RoleOfficer, args("cust-1O", "--allow-empty")...); err != nil {
		t.Errorf("--allow-empty: %v %s", err, stderr)
	}
	if _, stderr, err := runReport(t, env, auth.RoleOfficer, args("cust-01")...); err != nil {
		t.Errorf("known customer: %v %s", err, stderr)
	}
}
