package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/privaudit/privaudit/audit"
	"github.com/privaudit/privaudit/audit/auth"
	"github.com/privaudit/privaudit/audit/ingest/ingesttest"
	"github.com/privaudit/privaudit/reports"
	"github.com/privaudit/privaudit/reports/schedule"
)

// scheduleServer serves the schedule API with one monthly disclosures
// schedule over the golden data set of the reports package, delivered to a
// webhook on loopback.
func scheduleServer(t *testing.T) *ingesttest.Env {
	t.Helper()
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) }))
	t.Cleanup(hook.Close)
	t.Setenv("PRIVAUDIT_TEST_HOOK_SECRET", "k")
	cfgs := []schedule.Config{{Name: "monthly", Cron: "0 4 1 * *", Timezone: "Europe/Berlin", Report: "disclosures",
		Period: schedule.PreviousMonth, Formats: []string{"xlsx", "csv"},
		Deliver: []schedule.Target{{Name: "siem", Type: schedule.TargetWebhook, URL: hook.URL, SecretEnv: "PRIVAUDIT_TEST_HOOK_SECRET"}}}}
	root := t.TempDir()
	env := ingesttest.Start(t, ingesttest.Options{Mux: func(e *ingesttest.Env, mux *http.ServeMux) {
		r, err := reports.NewRunner(reports.Options{Conn: e.Conn, Schema: e.Schema, Recorder: e.Ingestor.Record, Logger: e.Log})
		if err != nil {
			t.Fatal(err)
		}
		s, err := schedule.New(schedule.Options{Runner: r, Conn: e.Conn, Schema: e.Schema, Schedules: cfgs, OutputRoot: root,
			Now: func() time.Time { return time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC) }, Logger: e.Log})
		if err != nil {
			t.Fatal(err)
		}
		s.Routes(mux, func(h http.Handler) http.Handler { return e.Tokens.Require(e.Log, h, auth.RoleOfficer) })
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

// runCmd runs `privaudit schedule …` or `privaudit runs …` against env.
func runCmd(t *testing.T, env *ingesttest.Env, role string, cmd string, args ...string) (string, string, error) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	m := &Main{Stdout: &stdout, Stderr: &stderr}
	args = append(args, "--server", env.Server.URL, "--token", env.Token[role], "--data-dir", t.TempDir())
	f := m.schedule
	if cmd == "runs" {
		f = m.runs
	}
	err := f(context.Background(), args)
	return stdout.String(), stderr.String(), err
}

func TestScheduleCommands(t *testing.T) {
	env := scheduleServer(t)
	out, _, err := runCmd(t, env, auth.RoleOfficer, "schedule", "list")
	if err != nil || !strings.Contains(out, "monthly") || !strings.Contains(out, "2026-12-01 04:00 CET") ||
		!strings.Contains(out, "2026-11-01 – 2026-12-01 (excl.)") || !strings.Contains(out, "xlsx,csv") {
		t.Fatalf("schedule list: %v\n%s", err, out)
	}
	out, _, err = runCmd(t, env, auth.RoleOfficer, "schedule", "run", "monthly")
	if err != nil || !strings.Contains(out, "success — 31 rows, 2 files") {
		t.Fatalf("schedule run: %v\n%s", err, out)
	}
	id := regexp.MustCompile(`run ([0-9a-f-]{36})`).FindStringSubmatch(out)
	name := regexp.MustCompile(`(disclosures_\S+\.csv)`).FindStringSubmatch(out)
	if id == nil || name == nil {
		t.Fatalf("no run id or csv file in:\n%s", out)
	}
	if _, _, err := runCmd(t, env, auth.RoleOfficer, "schedule", "run", "nope"); err == nil || !strings.Contains(err.Error(), `no schedule "nope"`) {
		t.Errorf("unknown schedule: %v", err)
	}

	out, _, err = runCmd(t, env, auth.RoleOfficer, "runs", "--schedule", "monthly", "--limit", "5")
	if err != nil || !strings.Contains(out, id[1]) || !strings.Contains(out, "success") || !strings.Contains(out, "2026-09-30 22:00 – 2026-10-31 23:00") {
		t.Errorf("runs: %v\n%s", err, out)
	}
	deadline := time.Now().Add(time.Minute)
	for {
		out, _, err = runCmd(t, env, auth.RoleOfficer, "runs", "show", id[1])
		if err != nil || !strings.Contains(out, name[1]) {
			t.Fatalf("runs show: %v\n%s", err, out)
		}
		if strings.Contains(out, "delivery to siem (webhook): delivered after 1 attempt(s)") && strings.Contains(out, "attempt 1 ") &&
			strings.Contains(out, "delivered — HTTP 204") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("runs show lacks the delivery:\n%s", out)
		}
		time.Sleep(50 * time.Millisecond)
	}

	dest := filepath.Join(t.TempDir(), "got.csv")
	_, stderr, err := runCmd(t, env, auth.RoleOfficer, "runs", "get", id[1], name[1], "--out", dest)
	b, rerr := os.ReadFile(dest)
	if err != nil || rerr != nil || strings.Count(string(b), "\n") != 32 || !strings.Contains(stderr, "verified") {
		t.Errorf("runs get: %v %v\n%s", err, rerr, stderr)
	}
	if _, _, err := runCmd(t, env, auth.RoleOfficer, "runs", "get", id[1], "missing.csv", "--out", dest+"2"); err == nil {
		t.Errorf("a missing file downloaded")
	} else if _, serr := os.Stat(dest + "2"); !os.IsNotExist(serr) {
		t.Errorf("a failed download left %s", dest+"2")
	}
	if _, _, err := runCmd(t, env, auth.RoleIngest, "runs"); err == nil || !strings.Contains(err.Error(), "officer") {
		t.Errorf("ingest token: %v", err)
	}
	if _, _, err := runCmd(t, env, auth.RoleOfficer, "runs", "get", id[1]); err == nil {
		t.Errorf("runs get without FILE accepted")
	}
}

// TestVerifyingReader: a download whose bytes do not match the recorded
// digest fails at its end.
func TestVerifyingReader(t *testing.T) {
	dest := filepath.Join(t.TempDir(), "x")
	vr := &verifyingReader{r: strings.NewReader("tampered"), h: sha256.New(), want: strings.Repeat("0", 64)}
	if err := writeAtomic(dest, vr); err == nil || !strings.Contains(err.Error(), "corrupted") {
		t.Errorf("corrupted download: %v", err)
	}
	if _, err := os.Stat(dest); !os.IsNotExist(err) {
		t.Errorf("a corrupted download was kept")
	}
}
