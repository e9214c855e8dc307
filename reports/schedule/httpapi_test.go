package schedule

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/privaudit/privaudit/audit/auth"
	"github.com/privaudit/privaudit/audit/ingest/ingesttest"
)

// apiEnv serves the schedule API of a "monthly" disclosures schedule
// (xlsx and csv, keep 1) over the golden data set.
func apiEnv(t *testing.T) (*ingesttest.Env, *clock) {
	t.Helper()
	c := cfg("monthly")
	c.Period, c.Formats, c.Keep, c.Filename = PreviousMonth, []string{"xlsx", "csv"}, 1, "{report}_{from}_{run}.{ext}"
	nightly := cfg("nightly")
	nightly.Timezone = "Europe/Berlin"
	clk := newClock(utc("2026-11-03T05:00:00Z"))
	root := t.TempDir()
	env := ingesttest.Start(t, ingesttest.Options{Mux: func(e *ingesttest.Env, mux *http.ServeMux) {
		s, err := New(Options{Runner: newRunner(t, e, nil), Conn: e.Conn, Schema: e.Schema, Schedules: []Config{c, nightly},
			OutputRoot: root, Now: clk.Now, Logger: e.Log})
		if err != nil {
			t.Fatal(err)
		}
		s.Routes(mux, func(h http.Handler) http.Handler { return e.Tokens.Require(e.Log, h, auth.RoleOfficer) })
	}})
	ingestGolden(t, env)
	return env, clk
}

// call sends an API request and decodes a JSON answer into out (if set).
func call(t *testing.T, env *ingesttest.Env, role, method, path string, out any) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest(method, env.Server.URL+path, nil)
	req.Header.Set("Authorization", "Bearer "+env.Token[role])
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if out != nil && resp.StatusCode < 300 {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: %v: %s", method, path, err, b)
		}
	}
	return resp, b
}

func TestHTTPAPI(t *testing.T) {
	env, clk := apiEnv(t)
	var list ListResponse
	if resp, b := call(t, env, auth.RoleOfficer, "GET", "/v1/schedules", &list); resp.StatusCode != 200 || len(list.Schedules) != 2 {
		t.Fatalf("list: %d %s", resp.StatusCode, b)
	} else if strings.Contains(string(b), `":"/`) {
		t.Errorf("GET /v1/schedules shows a server path: %s", b)
	}
	if st := list.Schedules[1]; st.Name != "nightly" || !st.Next.Equal(utc("2026-11-04T01:00:00Z")) ||
		!st.NextFrom.Equal(utc("2026-11-02T23:00:00Z")) || !st.NextTo.Equal(utc("2026-11-03T23:00:00Z")) || st.Timezone != "Europe/Berlin" {
		t.Errorf("nightly status: %+v", st)
	}
	if resp, _ := call(t, env, auth.RoleIngest, "GET", "/v1/schedules", nil); resp.StatusCode != http.StatusForbidden {
		t.Errorf("ingest role: %d", resp.StatusCode)
	}
	if resp, b := call(t, env, auth.RoleOfficer, "POST", "/v1/schedules/nope/run", nil); resp.StatusCode != 404 || !strings.Contains(string(b), "schedule list") {
		t.Errorf("unknown schedule: %d %s", resp.StatusCode, b)
	}
	if resp, b := call(t, env, auth.RoleOfficer, "POST", "/v1/schedules/montly/run", nil); resp.StatusCode != 404 || !strings.Contains(string(b), "(did you mean monthly?)") {
		t.Errorf("mistyped schedule: %d %s, want the nearest name suggested", resp.StatusCode, b)
	}

	var first Run
	if resp, b := call(t, env, auth.RoleOfficer, "POST", "/v1/schedules/monthly/run", &first); resp.StatusCode != 200 ||
		first.Status != StatusSuccess || first.Rows != 31 || len(first.Files) != 2 || first.RequestedBy != "test-officer" {
		t.Fatalf("run: %d %s", resp.StatusCode, b)
	}
	file := first.Files[0]
	// Run files are named, never pathed: no server path reaches a client.
	for _, path := range []string{"/v1/runs", "/v1/runs/" + first.ID} {
		resp, b := call(t, env, auth.RoleOfficer, "GET", path, nil)
		if resp.StatusCode != 200 || strings.Contains(string(b), `"path"`) || strings.Contains(string(b), `":"/`) ||
			!strings.Contains(string(b), `"name":"`+file.Name+`"`) {
			t.Errorf("GET %s shows a server path or no file name: %d %s", path, resp.StatusCode, b)
		}
	}
	resp, body := call(t, env, auth.RoleOfficer, "GET", "/v1/runs/"+first.ID+"/files/"+file.Name, nil)
	sum := sha256.Sum256(body)
	if resp.StatusCode != 200 || resp.Header.Get(HeaderFileSHA256) != file.SHA256 || hex.EncodeToString(sum[:]) != file.SHA256 ||
		!strings.Contains(resp.Header.Get("Content-Disposition"), file.Name) || !strings.Contains(resp.Header.Get("Content-Type"), "spreadsheetml") {
		t.Errorf("download: %d %v", resp.StatusCode, resp.Header)
	}
	for _, name := range []string{"other.xlsx", "..%2F..%2Fetc%2Fpasswd", "..%2F" + file.Name, "monthly%2F" + file.Name} {
		if resp, _ := call(t, env, auth.RoleOfficer, "GET", "/v1/runs/"+first.ID+"/files/"+name, nil); resp.StatusCode != 404 {
			t.Errorf("file %s: %d", name, resp.StatusCode)
		}
	}

	// wait=false answers at once; the run completes in the background.
	clk.Set(clk.Now().Add(time.Hour))
	var started Run
	if resp, b := call(t, env, auth.RoleOfficer, "POST", "/v1/schedules/monthly/run?wait=false", &started); resp.StatusCode != http.StatusAccepted || started.ID == "" || started.Status != StatusRunning {
		t.Fatalf("run wait=false: %d %s", resp.StatusCode, b)
	}
	waitFor(t, "the background run", func() bool {
		var rr RunsResponse
		call(t, env, auth.RoleOfficer, "GET", "/v1/runs/"+started.ID, &rr)
		return len(rr.Runs) == 1 && rr.Runs[0].Status == StatusSuccess
	})
	var rr RunsResponse
	if resp, b := call(t, env, auth.RoleOfficer, "GET", "/v1/runs?schedule=monthly&limit=1", &rr); resp.StatusCode != 200 || len(rr.Runs) != 1 || rr.Runs[0].ID != started.ID {
		t.Errorf("runs: %d %s", resp.StatusCode, b)
	}
	for _, q := range []string{"?limit=0", "?colour=red", "?schedule=nope"} {
		if resp, _ := call(t, env, auth.RoleOfficer, "GET", "/v1/runs"+q, nil); resp.StatusCode < 400 {
			t.Errorf("runs%s: %d", q, resp.StatusCode)
		}
	}
	// keep: 1 — the first run's files are gone, and the API says why.
	if resp, b := call(t, env, auth.RoleOfficer, "GET", "/v1/runs/"+first.ID+"/files/"+file.Name, nil); resp.StatusCode != 404 || !strings.Contains(string(b), "retention") {
		t.Errorf("download after retention: %d %s", resp.StatusCode, b)
	}
	if resp, _ := call(t, env, auth.RoleOfficer, "GET", "/v1/runs/"+time.Now().Format("20060102"), nil); resp.StatusCode != 404 {
		t.Errorf("unknown run: %d", resp.StatusCode)
	}
}
