package schedule

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/privaudit/privaudit/audit"
	"github.com/privaudit/privaudit/audit/auth"
	"github.com/privaudit/privaudit/audit/ingest/ingesttest"
	"github.com/privaudit/privaudit/reports"
)

// TestDownloadRecorded: each download of a run file is recorded under the
// token's name before it is served, with the run, file, digest and size,
// and the customer of a one-customer report as its subject; a download
// that cannot be recorded is refused, not served unrecorded. A run started
// by hand is recorded under the officer, not the schedule.
func TestDownloadRecorded(t *testing.T) {
	var failDownloads atomic.Bool
	sa := cfg("cust01")
	sa.Report, sa.Params, sa.Period = "subject-access", map[string]string{"subject_id": "cust-01"}, PreviousMonth
	env := ingesttest.Start(t, ingesttest.Options{Mux: func(e *ingesttest.Env, mux *http.ServeMux) {
		rec := func(ctx context.Context, evs ...audit.Event) error {
			if failDownloads.Load() && evs[0].Channel == audit.TrailChannelRunFile {
				return errors.New("spool full")
			}
			return e.Ingestor.Record(ctx, evs...)
		}
		r, err := reports.NewRunner(reports.Options{Conn: e.Conn, Schema: e.Schema, Recorder: rec, Logger: e.Log})
		if err != nil {
			t.Fatal(err)
		}
		s, err := New(Options{Runner: r, Conn: e.Conn, Schema: e.Schema, Schedules: []Config{sa}, OutputRoot: t.TempDir(),
			Now: newClock(utc("2026-11-03T05:00:00Z")).Now, Logger: e.Log})
		if err != nil {
			t.Fatal(err)
		}
		s.Routes(mux, func(h http.Handler) http.Handler { return e.Tokens.Require(e.Log, h, auth.RoleOfficer) })
	}})
	ingestGolden(t, env)
	var run Run
	if resp, b := call(t, env, auth.RoleOfficer, "POST", "/v1/schedules/cust01/run", &run); resp.StatusCode != 200 || run.Status != StatusSuccess {
		t.Fatalf("run: %d %s", resp.StatusCode, b)
	}
	file := run.Files[0]
	path := "/v1/runs/" + run.ID + "/files/" + file.Name

	failDownloads.Store(true)
	resp, body := call(t, env, auth.RoleOfficer, "GET", path, nil)
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" || !strings.Contains(string(body), "could not be recorded") {
		t.Errorf("unrecordable download: %d %s", resp.StatusCode, body)
	}
	failDownloads.Store(false)
	if resp, _ := call(t, env, auth.RoleOfficer, "GET", path, nil); resp.StatusCode != 200 {
		t.Fatalf("download: %d", resp.StatusCode)
	}
	env.WaitStored(t)
	attr := func(k string) string { return "attr_values[indexOf(attr_keys, '" + k + "')]" }
	if n := env.Count(t, "SELECT count() FROM privaudit.access_events FINAL WHERE channel = 'run_file' AND actor_id = 'test-officer'"+
		" AND actor_type = 'employee' AND subject_id = 'cust-01' AND purpose = 'audit_report' AND action = 'export'"+
		" AND "+attr("run_id")+" = ? AND "+attr("file")+" = ? AND "+attr("sha256")+" = ? AND "+attr("bytes")+" = ? AND "+attr("schedule")+" = 'cust01'",
		run.ID, file.Name, file.SHA256, strconv.FormatInt(file.Size, 10)); n != 1 {
		t.Errorf("%d recorded downloads, want 1 (the refused one is not served, so not recorded)", n)
	}
	if n := env.Count(t, "SELECT count() FROM privaudit.access_events FINAL WHERE channel = 'schedule_manual' AND actor_id = 'test-officer'"+
		" AND subject_id = 'cust-01' AND "+attr("schedule")+" = 'cust01' AND "+attr("trigger")+" = 'manual' AND request_id = ?", run.ID); n != 1 {
		t.Errorf("%d renderings recorded under the officer, want 1", n)
	}
	var rr RunsResponse
	if resp, b := call(t, env, auth.RoleOfficer, "GET", "/v1/runs?schedule=cust01&status=success&limit=1", &rr); resp.StatusCode != 200 ||
		len(rr.Runs) != 1 || rr.Runs[0].ID != run.ID || rr.Runs[0].RequestedBy != "test-officer" {
		t.Errorf("runs?status=success: %d %s", resp.StatusCode, b)
	}
	if resp, b := call(t, env, auth.RoleOfficer, "GET", "/v1/runs?status=done", nil); resp.StatusCode != 400 || !strings.Contains(string(b), "success") {
		t.Errorf("runs?status=done: %d %s", resp.StatusCode, b)
	}
}
