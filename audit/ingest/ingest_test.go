package ingest_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/privaudit/privaudit/audit"
	"github.com/privaudit/privaudit/audit/auth"
	"github.com/privaudit/privaudit/audit/ingest/ingesttest"
)

// event returns one valid access event line with the given id.
func event(id string, occurred time.Time) string {
	return fmt.Sprintf(`{"event_id":%q,"occurred_at":%q,"actor_id":"svc-balance","actor_type":"service",`+
		`"subject_id":"cust-1","action":"share","data_categories":["account_balance"],"recipient_id":"messenger",`+
		`"recipient_type":"third_party","purpose":"balance_inquiry","legal_basis":"consent","consent_id":"c-1"}`,
		id, occurred.UTC().Format(time.RFC3339Nano))
}

func uuidN(n int) string { return fmt.Sprintf("00000000-0000-4000-8000-%012d", n) }

func events(from, n int) string {
	var b strings.Builder
	t0 := time.Date(2026, 10, 1, 12, 0, 0, 0, time.UTC)
	for i := from; i < from+n; i++ {
		b.WriteString(event(uuidN(i), t0.Add(time.Duration(i)*time.Second)))
		b.WriteByte('\n')
	}
	return b.String()
}

const countEvents = "SELECT count() FROM privaudit.access_events FINAL"

func TestIngestStoresEachEventOnce(t *testing.T) {
	env := ingesttest.Start(t, ingesttest.Options{})
	body := events(0, 500)
	env.Ingest(t, audit.KindEvents, body)
	// A client retry of the same request, and an overlapping request.
	env.Ingest(t, audit.KindEvents, body)
	env.Ingest(t, audit.KindEvents, events(250, 500))
	// The same event_id twice within one request.
	code, resp := env.Post(t, audit.KindEvents, events(1000, 1)+events(1000, 1))
	if code != 200 || !strings.Contains(resp, `"duplicates":1`) {
		t.Fatalf("in-request duplicate: %d %s", code, resp)
	}
	env.WaitStored(t)
	if n := env.Count(t, countEvents); n != 751 {
		t.Fatalf("stored %d events, want 751", n)
	}
	// Stored once even before any merge: no raw duplicates either.
	if n := env.Count(t, "SELECT count() FROM privaudit.access_events"); n != 751 {
		t.Fatalf("raw rows %d, want 751 (duplicates reached the table)", n)
	}
	// A re-send with the same event_id but altered content is not stored again.
	altered := strings.Replace(events(5, 1), "balance_inquiry", "advertising", 1)
	env.Ingest(t, audit.KindEvents, altered)
	if n := env.Count(t, "SELECT count() FROM privaudit.access_events WHERE purpose = 'advertising'"); n != 0 {
		t.Fatalf("altered duplicate stored %d times", n)
	}
}

func TestIngestJSONArrayAndGzip(t *testing.T) {
	env := ingesttest.Start(t, ingesttest.Options{})
	lines := strings.Split(strings.TrimSpace(events(0, 3)), "\n")
	env.Ingest(t, audit.KindEvents, "[\n"+strings.Join(lines, ",\n")+"\n]")
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	io.WriteString(zw, events(3, 4))
	zw.Close()
	req, _ := http.NewRequest("POST", env.Server.URL+"/v1/events", &buf)
	req.Header.Set("Authorization", "Bearer "+env.Token[auth.RoleIngest])
	req.Header.Set("Content-Encoding", "gzip")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("gzip: %d", resp.StatusCode)
	}
	env.WaitStored(t)
	if n := env.Count(t, countEvents); n != 7 {
		t.Fatalf("stored %d, want 7", n)
	}
}

func TestIngestRejectsWholeRequestListingEveryBadLine(t *testing.T) {
	env := ingesttest.Start(t, ingesttest.Options{})
	lines := strings.Split(strings.TrimSpace(events(0, 5)), "\n")
	lines[1] = strings.Replace(lines[1], `"action":"share"`, `"action":"sell"`, 1)
	lines[3] = strings.Replace(lines[3], `"purpose":"balance_inquiry",`, `"purpos":"x",`, 1)
	code, body := env.Post(t, audit.KindEvents, strings.Join(lines, "\n"))
	if code != http.StatusBadRequest {
		t.Fatalf("status %d, want 400: %s", code, body)
	}
	var er struct {
		Error struct {
			Details struct {
				Problems []audit.Problem `json:"problems"`
			} `json:"details"`
		} `json:"error"`
	}
	if err := json.Unmarshal([]byte(body), &er); err != nil {
		t.Fatal(err)
	}
	got := map[int][]string{}
	for _, p := range er.Error.Details.Problems {
		got[p.Line] = append(got[p.Line], p.Field)
	}
	if len(got) != 2 || !contains(got[2], "action") || !contains(got[4], "purpos") {
		t.Fatalf("problems %+v, want line 2 action and line 4 purpos (unknown) and purpose (missing)", er.Error.Details.Problems)
	}
	env.WaitStored(t)
	if n := env.Count(t, countEvents); n != 0 {
		t.Fatalf("a rejected request stored %d events", n)
	}
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

func TestIngestAuth(t *testing.T) {
	env := ingesttest.Start(t, ingesttest.Options{})
	for _, c := range []struct {
		name, header string
		want         int
	}{
		{"missing", "", 401},
		{"not bearer", "Basic abc", 401},
		{"malformed", "Bearer nope", 401},
		{"unknown", "Bearer pa_0011223344556677_deadbeef", 401},
		{"wrong secret", "Bearer " + env.Token[auth.RoleIngest][:20] + "_ffff", 401},
		{"officer may not ingest", "Bearer " + env.Token[auth.RoleOfficer], 403},
		{"ingest", "Bearer " + env.Token[auth.RoleIngest], 200},
		{"admin", "Bearer " + env.Token[auth.RoleAdmin], 200},
	} {
		req, _ := http.NewRequest("POST", env.Server.URL+"/v1/events", strings.NewReader(events(0, 1)))
		if c.header != "" {
			req.Header.Set("Authorization", c.header)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != c.want {
			t.Errorf("%s: status %d, want %d", c.name, resp.StatusCode, c.want)
		}
	}
	// Tokens are stored only as hashes.
	if n := env.Count(t, "SELECT count() FROM privaudit_meta.api_tokens WHERE position(?, secret_hash) > 0 OR position(secret_hash, ?) > 0",
		env.Token[auth.RoleIngest], strings.Split(env.Token[auth.RoleIngest], "_")[2]); n != 0 {
		t.Fatal("a clear token is stored")
	}
}

func TestIngestFullSpoolAnswers503(t *testing.T) {
	env := ingesttest.Start(t, ingesttest.Options{SpoolMaxBytes: 1 << 20})
	// Stop ClickHouse so nothing drains, then fill the spool.
	if err := env.CH.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	var got503 bool
	for i := 0; i < 100 && !got503; i++ {
		req, _ := http.NewRequest("POST", env.Server.URL+"/v1/events", strings.NewReader(events(i*300, 300)))
		req.Header.Set("Authorization", "Bearer "+env.Token[auth.RoleIngest])
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		switch resp.StatusCode {
		case 200:
		case 503:
			got503 = true
			if resp.Header.Get("Retry-After") == "" {
				t.Fatal("503 without Retry-After")
			}
		default:
			t.Fatalf("status %d", resp.StatusCode)
		}
	}
	if !got503 {
		t.Fatal("spool never reported full")
	}
}

func TestClickHouseOutageLosesNothing(t *testing.T) {
	env := ingesttest.Start(t, ingesttest.Options{})
	const per, requests = 200, 40
	var wg sync.WaitGroup
	errs := make(chan error, requests)
	for i := 0; i < requests; i++ {
		if i == 10 {
			if err := env.CH.Stop(context.Background()); err != nil {
				t.Fatal(err)
			}
		}
		if i == 30 {
			if err := env.CH.Restart(context.Background()); err != nil {
				t.Fatal(err)
			}
		}
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			if code, body := env.Post(t, audit.KindEvents, events(i*per, per)); code != 200 {
				errs <- fmt.Errorf("request %d: %d %s", i, code, body)
			}
		}(i)
		wg.Wait()
	}
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if env.CH.Addr == "" {
		t.Fatal("no address")
	}
	env.WaitStored(t)
	if n := env.Count(t, countEvents); n != per*requests {
		t.Fatalf("stored %d events, want %d", n, per*requests)
	}
}

func TestIngestBodyLimit(t *testing.T) {
	env := ingesttest.Start(t, ingesttest.Options{MaxBodyBytes: 4096})
	post := func(body io.Reader, gz bool, chunked bool) (int, string) {
		req, _ := http.NewRequest("POST", env.Server.URL+"/v1/events", body)
		req.Header.Set("Authorization", "Bearer "+env.Token[auth.RoleIngest])
		if gz {
			req.Header.Set("Content-Encoding", "gzip")
		}
		if chunked {
			req.ContentLength = -1 // no Content-Length: the limit must hold while reading
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	big := events(0, 20) // ~6 KB
	// Each 413 names the limit that applied.
	if code, body := post(strings.NewReader(big), false, false); code != 413 || !strings.Contains(body, "split") ||
		!strings.Contains(body, "exceeds 4 KiB (ingest.max_body_bytes)") {
		t.Fatalf("declared oversize body: %d %s", code, body)
	}
	if code, body := post(io.MultiReader(strings.NewReader(big)), false, true); code != 413 || !strings.Contains(body, "exceeds 4 KiB (ingest.max_body_bytes)") {
		t.Fatalf("streamed oversize body: %d %s", code, body)
	}
	// 200 events compress far below the limit but expand past four times it.
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	io.WriteString(zw, events(0, 200))
	zw.Close()
	if code, body := post(&buf, true, false); code != 413 || !strings.Contains(body, "decompressed body exceeds 16 KiB (ingest.max_decompressed_bytes)") {
		t.Fatalf("gzip bomb: %d %s", code, body)
	}
	if code, body := post(strings.NewReader(events(0, 2)), false, false); code != 200 {
		t.Fatalf("small body: %d %s", code, body)
	}
	env.WaitStored(t)
	if n := env.Count(t, countEvents); n != 2 {
		t.Fatalf("stored %d events, want only the 2 of the accepted request", n)
	}
}
