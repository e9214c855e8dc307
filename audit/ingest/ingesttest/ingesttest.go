// Package ingesttest starts a complete, real privaudit intake for tests: a
// managed ClickHouse in a temporary directory, the migrated schema, the
// spools and writers, and the authenticated HTTP handlers on a loopback test
// server. Tests feed it through HTTP exactly as clients do.
package ingesttest

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/privaudit/privaudit/audit"
	"github.com/privaudit/privaudit/audit/auth"
	"github.com/privaudit/privaudit/audit/chserver"
	"github.com/privaudit/privaudit/audit/chwire"
	"github.com/privaudit/privaudit/audit/ingest"
	"github.com/privaudit/privaudit/audit/store"
	"github.com/privaudit/privaudit/queries"
)

// Env is a running intake.
type Env struct {
	CH   *chserver.Server
	Conn driver.Conn
	// Scan reaches the server as Conn does, over audit/chwire.
	Scan     chwire.Options
	Schema   queries.Schema
	Tokens   *auth.Store
	Ingestor *ingest.Ingestor
	Server   *httptest.Server
	Dir      string
	// Token holds one valid token per role.
	Token map[string]string
	Log   *slog.Logger
}

// Options tune Start.
type Options struct {
	SpoolMaxBytes int64
	// MaxBodyBytes limits one ingest request (default: the ingest default).
	MaxBodyBytes int64
	// MaxDecompressedBytes and MaxInFlightBytes: as ingest.Options.
	MaxDecompressedBytes, MaxInFlightBytes int64
	Now                                    func() time.Time
	// Mux, if set, receives extra routes before the server starts.
	Mux func(e *Env, mux *http.ServeMux)
	// ReaderLimits are the limits of the managed ClickHouse's read-only
	// reader user (zero values: chserver's defaults).
	ReaderLimits chserver.ReaderLimits
}

// Start brings up the intake; everything is stopped by t.Cleanup.
func Start(t testing.TB, o Options) *Env {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	ch, err := chserver.Start(ctx, chserver.Options{Dir: filepath.Join(dir, "clickhouse"), Logger: log, Limits: o.ReaderLimits})
	if err != nil {
		t.Fatalf("start clickhouse: %v", err)
	}
	t.Cleanup(func() { _ = ch.Stop(context.Background()) })
	e := &Env{CH: ch, Schema: queries.DefaultSchema, Dir: dir, Log: log, Token: map[string]string{}}
	so := store.Options{Addrs: []string{ch.Addr}, User: ch.AdminUser, Password: ch.AdminPassword, Logger: log}
	e.Scan = so.Scan()
	e.Conn, err = store.Open(ctx, so)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Conn.Close() })
	if err := store.Migrate(ctx, e.Conn, e.Schema, log); err != nil {
		t.Fatal(err)
	}
	if e.Tokens, err = auth.NewStore(e.Conn, e.Schema, log); err != nil {
		t.Fatal(err)
	}
	for _, r := range auth.Roles {
		if e.Token[r], err = e.Tokens.Create(ctx, "test-"+r, r); err != nil {
			t.Fatal(err)
		}
	}
	e.Ingestor, err = ingest.Open(ctx, ingest.Options{SpoolDir: filepath.Join(dir, "spool"), SpoolMaxBytes: o.SpoolMaxBytes, MaxBodyBytes: o.MaxBodyBytes,
		MaxDecompressedBytes: o.MaxDecompressedBytes, MaxInFlightBytes: o.MaxInFlightBytes,
		Linger: 20 * time.Millisecond, Conn: e.Conn, Schema: e.Schema, Logger: log, Now: o.Now})
	if err != nil {
		t.Fatal(err)
	}
	e.Ingestor.Start()
	mux := http.NewServeMux()
	e.Ingestor.Routes(mux, func(h http.Handler) http.Handler { return e.Tokens.Require(log, h, auth.RoleIngest) })
	if o.Mux != nil {
		o.Mux(e, mux)
	}
	e.Server = httptest.NewServer(mux)
	t.Cleanup(func() {
		e.Server.Close()
		cctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = e.Ingestor.Close(cctx)
	})
	return e
}

// Post sends body to /v1/KIND with the ingest token and returns the status
// and response body.
func (e *Env) Post(t testing.TB, kind audit.Kind, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, e.Server.URL+"/v1/"+string(kind), strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+e.Token[auth.RoleIngest])
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// Ingest posts body, requires success, and waits until it is in ClickHouse.
func (e *Env) Ingest(t testing.TB, kind audit.Kind, body string) {
	t.Helper()
	if code, resp := e.Post(t, kind, body); code != http.StatusOK {
		t.Fatalf("ingest %s: %d %s", kind, code, resp)
	}
	e.WaitStored(t)
}

// WaitStored waits until every acknowledged record is in ClickHouse.
func (e *Env) WaitStored(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := e.Ingestor.WaitStored(ctx); err != nil {
		t.Fatal(err)
	}
}

// Count runs a counting query and returns its single value.
func (e *Env) Count(t testing.TB, sql string, args ...any) uint64 {
	t.Helper()
	var n uint64
	if err := e.Conn.QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return n
}
