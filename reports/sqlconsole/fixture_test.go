package sqlconsole

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/privaudit/privaudit/audit/auth"
	"github.com/privaudit/privaudit/audit/ingest/ingesttest"
	"github.com/privaudit/privaudit/queries"
)

// fixture is a running intake with the query console mounted, a reader
// connection and a runner over it.
type fixture struct {
	env     *ingesttest.Env
	reader  driver.Conn
	runner  *queries.Runner
	console *Console
	logs    *syncBuffer // everything the console logged
}

type fixtureOptions struct {
	Limits  ingesttest.Options
	Runner  queries.RunnerOptions
	Console Options
}

// startFixture starts ClickHouse, the intake and the console.
func startFixture(t *testing.T, o fixtureOptions) *fixture {
	t.Helper()
	f := &fixture{logs: &syncBuffer{}}
	eo := o.Limits
	eo.Mux = func(e *ingesttest.Env, mux *http.ServeMux) {
		f.reader = openReader(t, e)
		f.runner = queries.NewRunner(f.reader, o.Runner)
		co := o.Console
		co.Runner, co.Schema, co.Record = f.runner, e.Schema, e.Ingestor.Record
		co.WaitVerdicts = e.Ingestor.WaitVerdicts
		co.Logger = slog.New(slog.NewTextHandler(f.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
		var err error
		if f.console, err = New(co); err != nil {
			t.Fatal(err)
		}
		f.console.Routes(mux, func(h http.Handler) http.Handler { return e.Tokens.Require(e.Log, h, auth.RoleOfficer) })
	}
	f.env = ingesttest.Start(t, eo)
	return f
}

// openReader connects as the managed server's read-only reader user.
func openReader(t *testing.T, e *ingesttest.Env) driver.Conn {
	t.Helper()
	conn, err := clickhouse.Open(&clickhouse.Options{
		Addr:         []string{e.CH.Addr},
		Auth:         clickhouse.Auth{Username: e.CH.ReaderUser, Password: e.CH.ReaderPassword},
		MaxOpenConns: 4,
		DialTimeout:  5 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := conn.Ping(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// post sends a query request with token ("" for none).
func (f *fixture) post(t *testing.T, token string, req any) *http.Response {
	t.Helper()
	var body []byte
	switch r := req.(type) {
	case string:
		body = []byte(r)
	default:
		var err error
		if body, err = json.Marshal(req); err != nil {
			t.Fatal(err)
		}
	}
	hr, _ := http.NewRequest(http.MethodPost, f.env.Server.URL+"/v1/query", bytes.NewReader(body))
	if token != "" {
		hr.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(hr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

// query posts as the officer and returns status, body and trailers.
func (f *fixture) query(t *testing.T, req Request) (int, string, http.Header) {
	t.Helper()
	resp := f.post(t, f.env.Token[auth.RoleOfficer], req)
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b), resp.Trailer
}

// ingestEvents stores NDJSON events built from maps.
func (f *fixture) ingestEvents(t *testing.T, evs ...map[string]any) {
	t.Helper()
	f.env.Ingest(t, "events", ndjson(t, evs))
}

func (f *fixture) ingestConsents(t *testing.T, cs ...map[string]any) {
	t.Helper()
	f.env.Ingest(t, "consents", ndjson(t, cs))
}

func ndjson(t *testing.T, recs []map[string]any) string {
	t.Helper()
	var b strings.Builder
	for _, r := range recs {
		line, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		b.Write(line)
		b.WriteByte('\n')
	}
	return b.String()
}

// share returns a disclosure event; over overrides fields.
func share(over map[string]any) map[string]any {
	ev := map[string]any{
		"event_id": newUUID(), "occurred_at": time.Now().UTC().Add(-time.Hour).Format(time.RFC3339),
		"actor_id": "svc-messenger", "actor_type": "service", "subject_id": "cust-1", "action": "share",
		"data_categories": []string{"account_balance"}, "recipient_id": "msgr", "recipient_type": "third_party",
		"purpose": "balance_inquiry", "legal_basis": "consent",
	}
	for k, v := range over {
		ev[k] = v
	}
	return ev
}

// grant returns a consent event; over overrides fields.
func grant(over map[string]any) map[string]any {
	c := map[string]any{
		"consent_event_id": newUUID(), "consent_id": "c-1", "subject_id": "cust-1", "recipient_id": "msgr",
		"status": "granted", "purposes": []string{"balance_inquiry"}, "data_categories": []string{"account_balance"},
		"effective_at": time.Now().UTC().Add(-48 * time.Hour).Format(time.RFC3339),
	}
	for k, v := range over {
		if v == nil {
			delete(c, k)
			continue
		}
		c[k] = v
	}
	return c
}

// run runs sql through the runner and collects every row.
func (f *fixture) run(t *testing.T, q queries.Query) ([][]any, *queries.Result, error) {
	t.Helper()
	res, err := f.runner.Query(context.Background(), q)
	if err != nil {
		return nil, nil, err
	}
	defer res.Close()
	var out [][]any
	for res.Next() {
		out = append(out, append([]any(nil), res.Values()...))
	}
	return out, res, res.Err()
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
