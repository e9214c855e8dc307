package reports

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/privaudit/privaudit/audit"
	"github.com/privaudit/privaudit/audit/auth"
	"github.com/privaudit/privaudit/audit/ingest/ingesttest"
)

// httpEnv serves the report API next to the intake; fail makes the
// recorder fail, to see a download abort after it started.
func httpEnv(t *testing.T, fail bool) *ingesttest.Env {
	t.Helper()
	return goldenEnv(t, ingesttest.Options{Mux: func(e *ingesttest.Env, mux *http.ServeMux) {
		rec := Recorder(e.Ingestor.Record)
		if fail {
			rec = func(context.Context, ...audit.Event) error { return errors.New("spool full") }
		}
		Routes(mux, newTestRunner(t, e, rec), e.Tokens, e.Log)
	}})
}

func get(t *testing.T, env *ingesttest.Env, role, path string) (*http.Response, []byte, error) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, env.Server.URL+path, nil)
	if role != "" {
		req.Header.Set("Authorization", "Bearer "+env.Token[role])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp, body, err
}

func TestHTTPCatalog(t *testing.T) {
	env := httpEnv(t, false)
	resp, body, _ := get(t, env, auth.RoleOfficer, "/v1/reports")
	var cat CatalogResponse
	if resp.StatusCode != 200 || json.Unmarshal(body, &cat) != nil || len(cat.Reports) != len(Default().Names()) || strings.Join(cat.Formats, ",") != "csv,html,json,xlsx" {
		t.Fatalf("catalog: %d %s", resp.StatusCode, body)
	}
	for _, e := range cat.Reports {
		if e.Name == "subject-access" && (len(e.Params) != 1 || e.Params[0].Name != "subject_id" || !e.Params[0].Required) {
			t.Errorf("subject-access params %+v", e.Params)
		}
	}
	for role, want := range map[string]int{"": 401, auth.RoleIngest: 403, auth.RoleAdmin: 200} {
		if resp, _, _ := get(t, env, role, "/v1/reports"); resp.StatusCode != want {
			t.Errorf("role %q: %d, want %d", role, resp.StatusCode, want)
		}
	}
	if resp, _, _ := get(t, env, auth.RoleIngest, "/v1/reports/disclosures?from=2026-10-01&to=2026-11-01"); resp.StatusCode != 403 {
		t.Errorf("an ingest token downloaded a report: %d", resp.StatusCode)
	}
}

func TestHTTPDownload(t *testing.T) {
	env := httpEnv(t, false)
	resp, body, err := get(t, env, auth.RoleOfficer, "/v1/reports/disclosures?from=2026-10-01&to=2026-11-01&format=csv")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("download: %d %v %s", resp.StatusCode, err, body)
	}
	h := resp.Header
	if h.Get("Content-Type") != "text/csv; charset=utf-8" ||
		h.Get("Content-Disposition") != `attachment; filename=disclosures_2026-10-01_2026-11-01.csv` ||
		h.Get("Cache-Control") != "no-store" {
		t.Errorf("headers %v", h)
	}
	sum := sha256.Sum256(body)
	if resp.Trailer.Get(TrailerSHA256) != hex.EncodeToString(sum[:]) || resp.Trailer.Get(TrailerRows) != "31" ||
		resp.Trailer.Get(TrailerLedger) != "not waited" {
		t.Errorf("trailers %v, body digest %x", resp.Trailer, sum)
	}
	if !strings.HasPrefix(string(body), "event_id,occurred_at,subject_id,") {
		t.Errorf("body %.100s", body)
	}
	env.WaitStored(t)
	if n := env.Count(t, "SELECT count() FROM privaudit.access_events FINAL WHERE purpose = 'audit_report' AND actor_id = 'test-officer' AND has(attr_values, 'disclosures')"); n != 1 {
		t.Errorf("the download was recorded %d times, want once", n)
	}

	resp, body, err = get(t, env, auth.RoleOfficer, "/v1/reports/subject-access?from=2026-10-01&to=2026-10-31T12:00:00Z&param.subject_id=cust-01")
	if err != nil || resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" ||
		!strings.HasPrefix(string(body), "PK") || !strings.Contains(resp.Header.Get("Content-Disposition"), "subject-access_2026-10-01_2026-10-31T120000Z.xlsx") {
		t.Errorf("xlsx download: %d %v %v %.4q", resp.StatusCode, err, resp.Header, body)
	}
}

func TestHTTPErrors(t *testing.T) {
	env := httpEnv(t, false)
	cases := []struct {
		path   string
		status int
		msg    string
	}{
		{"/v1/reports/nope?from=2026-10-01&to=2026-11-01", 404, "the catalog has: access-review"},
		{"/v1/reports/disclosures?from=2026-11-01&to=2026-10-01", 400, "empty period"},
		{"/v1/reports/disclosures?from=yesterday&to=2026-10-01", 400, "neither a date"},
		{"/v1/reports/subject-access?from=2026-10-01&to=2026-11-01", 400, "needs parameter subject_id"},
		{"/v1/reports/disclosures?from=2026-10-01&to=2026-11-01&subject_id=x", 400, "unknown query parameter"},
		{"/v1/reports/disclosures?from=2026-10-01&to=2026-11-01&format=pdf", 400, "unknown format"},
	}
	for _, c := range cases {
		resp, body, _ := get(t, env, auth.RoleOfficer, c.path)
		err := DecodeError(resp.StatusCode, body)
		if resp.StatusCode != c.status || resp.Header.Get("Content-Type") != "application/json" || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%s: %d %s, want %d mentioning %q", c.path, resp.StatusCode, body, c.status, c.msg)
		}
	}
}

func TestHTTPHeadRefused(t *testing.T) {
	env := httpEnv(t, false)
	req, _ := http.NewRequest(http.MethodHead, env.Server.URL+"/v1/reports/disclosures?from=2026-10-01&to=2026-11-01", nil)
	req.Header.Set("Authorization", "Bearer "+env.Token[auth.RoleOfficer])
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 400 {
		t.Errorf("HEAD: %d, want 400 (it must not run the report)", resp.StatusCode)
	}
}

// TestHTTPAbortAfterStart checks that a failure after the first byte (here:
// the run cannot be recorded) breaks the response instead of ending it as
// if the file were complete.
func TestHTTPAbortAfterStart(t *testing.T) {
	env := httpEnv(t, true)
	resp, _, err := get(t, env, auth.RoleOfficer, "/v1/reports/disclosures?from=2026-10-01&to=2026-11-01&format=csv")
	if resp.StatusCode != 200 || err == nil {
		t.Errorf("status %d, body error %v: want a started, then broken, download", resp.StatusCode, err)
	}
}
