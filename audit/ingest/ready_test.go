package ingest_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/privaudit/privaudit/audit"
	"github.com/privaudit/privaudit/audit/ingest"
	"github.com/privaudit/privaudit/audit/ingest/ingesttest"
)

// readyz asks h for readiness: status and body.
func readyz(t *testing.T, h http.Handler) (int, string) {
	t.Helper()
	srv := httptest.NewServer(h)
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func waitReadiness(t *testing.T, what string, h http.Handler, ok func(code int, body string) bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		code, body := readyz(t, h)
		if ok(code, body) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 60s; last %d %s", what, code, body)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestReadinessNamesKeyFilterLoading opens an ingestor without starting its
// writers: until they have loaded the stored keys it is not ready, and says so.
func TestReadinessNamesKeyFilterLoading(t *testing.T) {
	env := ingesttest.Start(t, ingesttest.Options{})
	in, err := ingest.Open(context.Background(), ingest.Options{SpoolDir: filepath.Join(t.TempDir(), "spool"),
		Conn: env.Conn, Schema: env.Schema, Logger: env.Log})
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close(context.Background())
	code, body := readyz(t, in.ReadyHandler())
	if code != 503 || !strings.Contains(body, `"ready":false`) || !strings.Contains(body, "events key filter: loading") ||
		!strings.Contains(body, "consents key filter: loading") || strings.Contains(body, "clickhouse:") {
		t.Fatalf("before the writers start: %d %s; want 503 naming both key filters and only them", code, body)
	}
	in.Start()
	waitReadiness(t, "ready once the filters are loaded", in.ReadyHandler(), func(code int, body string) bool {
		return code == 200 && strings.TrimSpace(body) == `{"ready":true}`
	})
}

// TestReadinessNamesStorageAndFullSpool stops ClickHouse and fills the
// events spool: /readyz names both, and is ready again once ClickHouse is
// back and the spool drained.
func TestReadinessNamesStorageAndFullSpool(t *testing.T) {
	env := ingesttest.Start(t, ingesttest.Options{SpoolMaxBytes: 1 << 20})
	h := env.Ingestor.ReadyHandler()
	waitReadiness(t, "ready after start", h, func(code int, _ string) bool { return code == 200 })
	if err := env.CH.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	code, body := readyz(t, h)
	if code != 503 || !strings.Contains(body, `"clickhouse: `) || strings.Contains(body, "spool") {
		t.Fatalf("with ClickHouse stopped: %d %s; want 503 naming clickhouse", code, body)
	}
	for i := 0; i < 100; i++ {
		if code, _ := env.Post(t, audit.KindEvents, events(i*300, 300)); code == 503 {
			break
		}
	}
	code, body = readyz(t, h)
	if code != 503 || !strings.Contains(body, "events spool: ") || !strings.Contains(body, "past 90% of its limit of 1048576 bytes") {
		t.Fatalf("with the spool full: %d %s; want 503 naming the events spool and its limit", code, body)
	}
	if err := env.CH.Restart(context.Background()); err != nil {
		t.Fatal(err)
	}
	waitReadiness(t, "ready once ClickHouse is back and the spool drained", h, func(code int, _ string) bool { return code == 200 })
}
