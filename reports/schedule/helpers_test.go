package schedule

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/privaudit/privaudit/audit"
	"github.com/privaudit/privaudit/audit/ingest/ingesttest"
	"github.com/privaudit/privaudit/reports"
	"github.com/privaudit/privaudit/reports/render"
)

// clock is an injectable clock tests move by hand.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock(t time.Time) *clock { return &clock{t: t} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// logBuffer collects log output safely across goroutines.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func (l *logBuffer) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(l, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

// fixture is a scheduler over a real ClickHouse.
type fixture struct {
	env   *ingesttest.Env
	s     *Scheduler
	clock *clock
	logs  *logBuffer
	root  string
}

// newFixture builds a scheduler for cfgs. With run nil the real Runner runs
// (recording through the intake); formats, if set, replace its renderers.
func newFixture(t *testing.T, env *ingesttest.Env, cfgs []Config, run RunFunc, formats map[string]render.Renderer) *fixture {
	t.Helper()
	return newFixtureIn(t, env, t.TempDir(), cfgs, run, formats)
}

// newFixtureIn is newFixture writing under the output root root.
func newFixtureIn(t *testing.T, env *ingesttest.Env, root string, cfgs []Config, run RunFunc, formats map[string]render.Renderer) *fixture {
	t.Helper()
	if env == nil {
		env = ingesttest.Start(t, ingesttest.Options{})
	}
	f := &fixture{env: env, clock: newClock(time.Date(2026, 11, 3, 5, 0, 0, 0, time.UTC)), logs: &logBuffer{}, root: root}
	runner := newRunner(t, env, formats)
	s, err := New(Options{Runner: runner, Conn: env.Conn, Schema: env.Schema, Schedules: cfgs, OutputRoot: f.root,
		Now: f.clock.Now, Logger: f.logs.logger(), Instance: "test", run: run})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = s.Stop(ctx)
	})
	f.s = s
	return f
}

func newRunner(t testing.TB, env *ingesttest.Env, formats map[string]render.Renderer) *reports.Runner {
	t.Helper()
	r, err := reports.NewRunner(reports.Options{Conn: env.Conn, Schema: env.Schema, Recorder: env.Ingestor.Record,
		Formats: formats, Version: "test", Logger: env.Log})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// ingestGolden loads the reports package's golden data set (October 2026:
// 31 disclosures).
func ingestGolden(t *testing.T, env *ingesttest.Env) {
	t.Helper()
	for _, k := range []struct {
		kind audit.Kind
		file string
	}{{audit.KindConsents, "consents.ndjson"}, {audit.KindEvents, "events.ndjson"}} {
		b, err := os.ReadFile(filepath.Join("..", "testdata", k.file))
		if err != nil {
			t.Fatal(err)
		}
		env.Ingest(t, k.kind, string(b))
	}
}

// fakeRun is a job body: it writes a small body and counts its calls;
// hook, if set, runs first and may block, fail or panic.
type fakeRun struct {
	mu    sync.Mutex
	reqs  []reports.RunRequest
	calls int
	hook  func(ctx context.Context, call int, req reports.RunRequest) error
}

func (f *fakeRun) run(ctx context.Context, req reports.RunRequest) (reports.RunResult, error) {
	f.mu.Lock()
	f.calls++
	call := f.calls
	f.reqs = append(f.reqs, req)
	f.mu.Unlock()
	if f.hook != nil {
		if err := f.hook(ctx, call, req); err != nil {
			return reports.RunResult{}, err
		}
	}
	body := fmt.Sprintf("%s %s %s\n", req.Report, req.From.Format(time.RFC3339), req.To.Format(time.RFC3339))
	n, err := req.Out.Write([]byte(body))
	if req.Progress != nil {
		req.Progress(100_000)
	}
	return reports.RunResult{Report: req.Report, Rows: 1, Bytes: int64(n), SHA256: "digest", EventID: "ev-" + req.Format}, err
}

func (f *fakeRun) requests() []reports.RunRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]reports.RunRequest(nil), f.reqs...)
}

// cfg is a valid schedule to start from.
func cfg(name string) Config {
	return Config{Name: name, Cron: "0 2 * * *", Report: "disclosures", Period: PreviousDay, Formats: []string{"csv"}}
}

// runsOf returns the recorded attempts of a schedule, newest first.
func runsOf(t *testing.T, s *Scheduler, schedule string) []Run {
	t.Helper()
	runs, err := s.Runs(context.Background(), RunFilter{Schedule: schedule, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	return runs
}

// statuses lists the attempts' statuses, oldest first.
func statuses(runs []Run) string {
	var out []string
	for i := len(runs) - 1; i >= 0; i-- {
		out = append(out, fmt.Sprintf("%d:%s", runs[i].Attempt, runs[i].Status))
	}
	return strings.Join(out, " ")
}

// dirFiles lists the names in dir, sorted.
func dirFiles(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		out = append(out, e.Name())
	}
	return out
}

// waitFor polls cond for up to 10 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
