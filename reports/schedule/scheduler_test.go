package schedule

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/privaudit/privaudit/audit/apierr"
	"github.com/privaudit/privaudit/reports"
)

// TestRunNowRealReport runs the real disclosures report of October 2026
// (previous_month at 2026-11-03) into xlsx and csv, and checks the files,
// their recorded sizes and digests, and the run history.
func TestRunNowRealReport(t *testing.T) {
	c := cfg("monthly")
	c.Period, c.Formats, c.Filename = PreviousMonth, []string{"xlsx", "csv"}, "{report}_{from}_{to}.{ext}"
	f := newFixture(t, nil, []Config{c}, nil, nil)
	ingestGolden(t, f.env)
	run, err := f.s.RunNow(context.Background(), "monthly")
	if err != nil {
		t.Fatalf("run now: %v\n%s", err, f.logs)
	}
	if run.Status != StatusSuccess || run.Rows != 31 || run.Trigger != TriggerManual || run.Attempt != 1 ||
		!run.From.Equal(utc("2026-10-01T00:00:00Z")) || !run.To.Equal(utc("2026-11-01T00:00:00Z")) || len(run.Files) != 2 {
		t.Fatalf("run: %+v", run)
	}
	dir := filepath.Join(f.root, "monthly")
	base := "disclosures_2026-10-01_2026-11-01_" + run.ID[:8]
	if got := dirFiles(t, dir); strings.Join(got, " ") != base+".csv "+base+".xlsx" {
		t.Errorf("output folder: %v", got)
	}
	for _, file := range run.Files {
		b, err := os.ReadFile(file.Path)
		sum := sha256.Sum256(b)
		if err != nil || int64(len(b)) != file.Size || hex.EncodeToString(sum[:]) != file.SHA256 || file.EventID == "" {
			t.Errorf("file %+v: %v, %d bytes", file, err, len(b))
		}
	}
	// The csv is the canonical form: its digest is the detail digest.
	if csv := run.Files[1]; csv.Format != "csv" || csv.SHA256 != run.DetailSHA256 {
		t.Errorf("csv digest %s, detail digest %s", csv.SHA256, run.DetailSHA256)
	}
	hist := runsOf(t, f.s, "monthly")
	if len(hist) != 1 || hist[0].ID != run.ID || hist[0].Status != StatusSuccess || hist[0].Rows != 31 ||
		len(hist[0].Files) != 2 || hist[0].Files[0] != run.Files[0] || hist[0].FinishedAt.IsZero() || hist[0].Instance != "test" {
		t.Errorf("history: %+v", hist)
	}
	// Each rendering is recorded as an access event by the schedule.
	f.env.WaitStored(t)
	if n := f.env.Count(t, "SELECT count() FROM privaudit.access_events FINAL WHERE actor_id = 'schedule:monthly' AND actor_type = 'system'"); n != 2 {
		t.Errorf("%d access events of the schedule's renderings, want 2", n)
	}
	logs := f.logs.String()
	if !strings.Contains(logs, "scheduled run finished") || !strings.Contains(logs, "rows=31") || !strings.Contains(logs, "bytes=") || !strings.Contains(logs, "duration=") {
		t.Errorf("no finished line with rows, bytes and duration:\n%s", logs)
	}
	if _, err := f.s.RunNow(context.Background(), "nope"); apierr.Code(err) != apierr.NotFound {
		t.Errorf("unknown schedule: %v", err)
	}
}

// TestOverlapPrevented: while a scheduled run of a schedule is in
// progress, another cron fire of it is skipped (and recorded), RunNow is
// refused, and another schedule runs.
func TestOverlapPrevented(t *testing.T) {
	release := make(chan struct{})
	var inside atomic.Int32
	fr := &fakeRun{hook: func(ctx context.Context, call int, req reports.RunRequest) error {
		if req.Report == "violations" {
			return nil
		}
		inside.Add(1)
		<-release
		return nil
	}}
	other := cfg("other")
	other.Report = "violations"
	f := newFixture(t, nil, []Config{cfg("nightly"), other}, fr.run, nil)
	j := f.s.byName["nightly"]
	done := make(chan struct{})
	go func() {
		f.s.fire(j)
		close(done)
	}()
	waitFor(t, "the first run to start", func() bool { return inside.Load() == 1 })
	f.s.fire(j) // a cron fire while the run is in progress
	if _, err := f.s.RunNow(context.Background(), "nightly"); !errors.Is(err, ErrRunning) || apierr.Code(err) != apierr.Unavailable {
		t.Errorf("RunNow during a run: %v", err)
	}
	if r, err := f.s.RunNow(context.Background(), "other"); err != nil || r.Status != StatusSuccess {
		t.Errorf("another schedule: %v %+v", err, r)
	}
	if st := f.s.List()[0]; !st.Running {
		t.Errorf("List does not show the run in progress: %+v", st)
	}
	close(release)
	<-done
	if inside.Load() != 1 {
		t.Errorf("%d runs of the job body, want 1", inside.Load())
	}
	hist := runsOf(t, f.s, "nightly")
	got := map[string]int{}
	for _, r := range hist {
		got[r.Trigger+"/"+r.Status]++
	}
	if len(hist) != 2 || got["schedule/success"] != 1 || got["schedule/skipped"] != 1 {
		t.Errorf("history %v", got)
	}
	if !strings.Contains(f.logs.String(), "scheduled run skipped") {
		t.Errorf("skip not logged:\n%s", f.logs)
	}
}

// TestCronFiresWithoutOverlap uses a real, short schedule (@every 1s) and
// a job body slower than it: the fires in between are skipped, never run
// concurrently.
func TestCronFiresWithoutOverlap(t *testing.T) {
	var now, most atomic.Int32
	fr := &fakeRun{hook: func(ctx context.Context, call int, req reports.RunRequest) error {
		n := now.Add(1)
		defer now.Add(-1)
		for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
		}
		time.Sleep(1500 * time.Millisecond)
		return nil
	}}
	c := cfg("fast")
	c.Cron, c.Filename = "@every 1s", "{report}_{run}.{ext}"
	f := newFixture(t, nil, []Config{c}, fr.run, nil)
	if err := f.s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "two runs and a skipped fire", func() bool {
		got := map[string]int{}
		for _, r := range runsOf(t, f.s, "fast") {
			got[r.Status]++
		}
		return got[StatusSuccess] >= 2 && got[StatusSkipped] >= 1
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := f.s.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if most.Load() != 1 {
		t.Errorf("%d runs at once, want 1", most.Load())
	}
	for _, r := range runsOf(t, f.s, "fast") {
		if r.Trigger != TriggerSchedule || r.FiredAt.IsZero() || r.FiredAt.Nanosecond() != 0 {
			t.Errorf("cron run %+v", r)
		}
	}
}

// TestPanicRecovered: a panicking job is recorded as status panic with its
// message, leaves no file behind, is not retried, and the schedule runs
// again afterwards.
func TestPanicRecovered(t *testing.T) {
	fr := &fakeRun{hook: func(ctx context.Context, call int, req reports.RunRequest) error {
		if call == 1 {
			_, _ = req.Out.Write([]byte("half a file"))
			var m map[string]int
			m["boom"]++ // assignment to entry in nil map
		}
		return nil
	}}
	c := cfg("nightly")
	c.Retries, c.RetryBackoff = 2, time.Millisecond
	f := newFixture(t, nil, []Config{c}, fr.run, nil)
	r, err := f.s.RunNow(context.Background(), "nightly")
	if err == nil || r.Status != StatusPanic || !strings.Contains(r.Error, "assignment to entry in nil map") || r.Attempt != 1 {
		t.Fatalf("panicking run: %v %+v", err, r)
	}
	if files := dirFiles(t, filepath.Join(f.root, "nightly")); len(files) != 0 {
		t.Errorf("files left by the panic: %v", files)
	}
	f.clock.Set(f.clock.Now().Add(time.Minute))
	if r, err := f.s.RunNow(context.Background(), "nightly"); err != nil || r.Status != StatusSuccess {
		t.Errorf("after the panic: %v %+v", err, r)
	}
	hist := runsOf(t, f.s, "nightly")
	if len(hist) != 2 || hist[1].Status != StatusPanic || !strings.Contains(hist[1].Error, "panic: assignment to entry in nil map") {
		t.Errorf("history: %+v", hist)
	}
	if !strings.Contains(f.logs.String(), "scheduled run panicked") || !strings.Contains(f.logs.String(), "stack=") {
		t.Errorf("panic not logged with its stack:\n%s", f.logs)
	}
}

// TestRetries: a failing run is retried with backoff up to retries times,
// every attempt recorded; a request the runner rejects is not retried.
func TestRetries(t *testing.T) {
	flaky := &fakeRun{hook: func(ctx context.Context, call int, req reports.RunRequest) error {
		switch {
		case req.Report == "violations":
			return errors.New("clickhouse: connection refused")
		case req.Report == "recipients":
			return apierr.Errorf(apierr.Invalid, "report recipients has no parameter x")
		case call <= 2:
			return errors.New("clickhouse: timeout")
		}
		return nil
	}}
	mk := func(name, report string) Config {
		c := cfg(name)
		c.Report, c.Retries, c.RetryBackoff = report, 3, 20*time.Millisecond
		return c
	}
	down := mk("down", "violations")
	down.Retries = 2
	f := newFixture(t, nil, []Config{mk("flaky", "disclosures"), down, mk("invalid", "recipients")}, flaky.run, nil)
	start := time.Now()
	r, err := f.s.RunNow(context.Background(), "flaky")
	if err != nil || r.Status != StatusSuccess || r.Attempt != 3 {
		t.Fatalf("flaky: %v %+v", err, r)
	}
	if waited := time.Since(start); waited < 60*time.Millisecond { // 20 ms + 40 ms of backoff
		t.Errorf("retries waited %s, want at least 60ms of backoff", waited)
	}
	hist := runsOf(t, f.s, "flaky")
	if statuses(hist) != "1:failed 2:failed 3:success" || hist[2].Error != "clickhouse: timeout" || hist[0].ID != hist[2].ID {
		t.Errorf("flaky history: %s %+v", statuses(hist), hist)
	}
	r, err = f.s.RunNow(context.Background(), "down")
	if err == nil || r.Status != StatusFailed || r.Attempt != 3 || !strings.Contains(err.Error(), "connection refused") {
		t.Errorf("down: %v %+v", err, r)
	}
	if s := statuses(runsOf(t, f.s, "down")); s != "1:failed 2:failed 3:failed" {
		t.Errorf("down history: %s", s)
	}
	if r, _ := f.s.RunNow(context.Background(), "invalid"); r.Status != StatusFailed || r.Attempt != 1 {
		t.Errorf("an invalid request is not retried: %+v", r)
	}
	if !strings.Contains(f.logs.String(), "retrying") {
		t.Errorf("retries not logged:\n%s", f.logs)
	}
}

// TestStop: Stop abandons a pending retry at once, waits for a run in
// progress, and when its deadline passes cancels it (recorded as
// canceled, no file left).
func TestStop(t *testing.T) {
	started := make(chan struct{}, 1)
	fr := &fakeRun{hook: func(ctx context.Context, call int, req reports.RunRequest) error {
		if req.Report == "violations" {
			return errors.New("down")
		}
		started <- struct{}{}
		_, _ = req.Out.Write([]byte("partial"))
		<-ctx.Done()
		return ctx.Err()
	}}
	retrying := cfg("retrying")
	retrying.Report, retrying.Retries, retrying.RetryBackoff = "violations", 5, time.Hour
	f := newFixture(t, nil, []Config{cfg("slow"), retrying}, fr.run, nil)
	retried := make(chan Run, 1)
	go func() {
		r, _ := f.s.RunNow(context.Background(), "retrying")
		retried <- r
	}()
	go func() { _, _ = f.s.RunNow(context.Background(), "slow") }()
	select {
	case <-started:
	case <-time.After(10 * time.Second):
		t.Fatalf("the slow run did not start:\n%s", f.logs)
	}
	waitFor(t, "the first failure", func() bool { return strings.Contains(f.logs.String(), "retrying") })
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if err := f.s.Stop(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("stop: %v", err)
	}
	if r := <-retried; r.Status != StatusFailed || r.Attempt != 1 {
		t.Errorf("pending retry: %+v", r)
	}
	if s := statuses(runsOf(t, f.s, "slow")); s != "1:canceled" {
		t.Errorf("slow run: %s", s)
	}
	if files := dirFiles(t, filepath.Join(f.root, "slow")); len(files) != 0 {
		t.Errorf("files left by the cancelled run: %v", files)
	}
	if _, err := f.s.RunNow(context.Background(), "slow"); apierr.Code(err) != apierr.Unavailable {
		t.Errorf("RunNow after Stop: %v", err)
	}
}

// TestProgressLogged: a long run logs its progress.
func TestProgressLogged(t *testing.T) {
	f := newFixture(t, nil, []Config{cfg("nightly")}, (&fakeRun{}).run, nil)
	f.s.o.ProgressEvery = time.Nanosecond
	if _, err := f.s.RunNow(context.Background(), "nightly"); err != nil {
		t.Fatal(err)
	}
	if logs := f.logs.String(); !strings.Contains(logs, "scheduled run in progress") || !strings.Contains(logs, "rows=100000") {
		t.Errorf("no progress line:\n%s", logs)
	}
}
