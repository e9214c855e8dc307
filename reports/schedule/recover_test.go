package schedule

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/privaudit/privaudit/reports"
)

// TestRecoverAfterCrash: a privaudit killed during a scheduled run left
// the attempt 'running' and a temporary file. The next start marks the
// attempt failed, runs its fire again, and deletes the temporary file;
// other files, and a run another instance left, are not touched.
func TestRecoverAfterCrash(t *testing.T) {
	fr := &fakeRun{}
	dead := newFixture(t, nil, []Config{cfg("nightly")}, fr.run, nil)
	dir := filepath.Join(dead.root, "nightly")
	if err := os.MkdirAll(dir, 0o750); err != nil {
		t.Fatal(err)
	}
	fired := utc("2026-11-03T02:00:00Z")
	crashed := Run{ID: uuid.NewString(), Attempt: 1, Schedule: "nightly", Report: "disclosures", Trigger: TriggerSchedule,
		Instance: "test", FiredAt: fired, StartedAt: fired, Status: StatusRunning, Formats: []string{"csv"}}
	crashed.From, crashed.To = periodAt(PreviousDay, fired, time.UTC)
	elsewhere := crashed
	elsewhere.ID, elsewhere.Instance = uuid.NewString(), "other-host"
	for _, r := range []Run{crashed, elsewhere} {
		if err := dead.s.st.record(context.Background(), r); err != nil {
			t.Fatal(err)
		}
	}
	// The dead run's temporary file, as createOutput names it.
	part, err := createOutput(filepath.Join(dir, dead.s.byName["nightly"].fileName(crashed, "csv")), "csv")
	if err != nil {
		t.Fatal(err)
	}
	_, _ = part.Write([]byte("half a rep"))
	_ = part.f.Close()
	for _, name := range []string{"notes.part", ".keep.part", "report.csv"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("mine"), 0o600); err != nil {
			t.Fatal(err)
		}
	}

	again := &fakeRun{}
	f := newFixtureIn(t, dead.env, dead.root, []Config{cfg("nightly")}, again.run, nil)
	startStop(t, f.s)

	var got *Run
	for _, r := range runsOf(t, f.s, "nightly") {
		switch {
		case r.ID == crashed.ID:
			if r.Status != StatusFailed || !strings.HasPrefix(r.Error, "interrupted:") || r.FinishedAt.IsZero() {
				t.Errorf("the interrupted attempt: %+v", r)
			}
		case r.ID == elsewhere.ID:
			if r.Status != StatusRunning {
				t.Errorf("another instance's run was touched: %+v", r)
			}
		case r.Trigger == TriggerCatchUp && r.FiredAt.Equal(fired):
			got = &r
		}
	}
	if got == nil || got.Status != StatusSuccess || len(got.Files) != 1 {
		t.Fatalf("the interrupted fire was not run again: %+v\n%s", runsOf(t, f.s, "nightly"), f.logs)
	}
	if p := periods(again, "nightly"); p != "11-02/11-03" {
		t.Errorf("runs after the restart: %q, want the interrupted period once", p)
	}
	names := dirFiles(t, dir)
	want := []string{".keep.part", got.Files[0].Name, "notes.part", "report.csv"}
	slices.Sort(want)
	if strings.Join(names, " ") != strings.Join(want, " ") {
		t.Errorf("output folder after the restart: %v, want %v", names, want)
	}
}

// TestManualRunKeepsFire: a cron fire that comes while a manual run is in
// progress waits for it and then runs; both are recorded for the same
// period. A second fire meanwhile is skipped, and the skip is recorded.
func TestManualRunKeepsFire(t *testing.T) {
	release := make(chan struct{})
	var inside atomic.Int32
	fr := &fakeRun{hook: func(ctx context.Context, call int, req reports.RunRequest) error {
		if call == 1 {
			inside.Add(1)
			<-release
		}
		return nil
	}}
	f := newFixture(t, nil, []Config{cfg("nightly")}, fr.run, nil)
	manual := make(chan Run, 1)
	go func() {
		r, _ := f.s.RunNow(context.Background(), "nightly")
		manual <- r
	}()
	waitFor(t, "the manual run to start", func() bool { return inside.Load() == 1 })
	j := f.s.byName["nightly"]
	fired := make(chan struct{})
	go func() {
		f.s.fire(j)
		close(fired)
	}()
	waitFor(t, "the fire to meet the manual run", func() bool {
		l := f.logs.String()
		return strings.Contains(l, "scheduled run waits") || strings.Contains(l, "scheduled run skipped")
	})
	f.s.fire(j) // a second fire while the first waits
	close(release)
	if r := <-manual; r.Status != StatusSuccess {
		t.Fatalf("manual run: %+v", r)
	}
	<-fired
	got := map[string][]Run{}
	for _, r := range runsOf(t, f.s, "nightly") {
		got[r.Trigger+"/"+r.Status] = append(got[r.Trigger+"/"+r.Status], r)
	}
	m, s, k := got["manual/success"], got["schedule/success"], got["schedule/skipped"]
	if len(m) != 1 || len(s) != 1 || len(k) != 1 || len(got) != 3 {
		t.Fatalf("history %v", got)
	}
	if !m[0].From.Equal(s[0].From) || !m[0].To.Equal(s[0].To) {
		t.Errorf("periods: manual %s–%s, scheduled %s–%s", m[0].From, m[0].To, s[0].From, s[0].To)
	}
	if !strings.Contains(k[0].Error, "earlier fire was already waiting") {
		t.Errorf("skip reason: %q", k[0].Error)
	}
}

// idRun is a job body whose file holds its run id, so every run's file
// differs.
func idRun() *fakeRun {
	return &fakeRun{hook: func(ctx context.Context, call int, req reports.RunRequest) error {
		_, err := req.Out.Write([]byte(req.RequestID + "\n"))
		return err
	}}
}

// checkFiles checks that each run's recorded files exist with their
// recorded size and SHA-256.
func checkFiles(t *testing.T, runs []Run) {
	t.Helper()
	for _, r := range runs {
		for _, file := range r.Files {
			b, err := os.ReadFile(file.Path)
			sum := sha256.Sum256(b)
			if err != nil || int64(len(b)) != file.Size || hex.EncodeToString(sum[:]) != file.SHA256 {
				t.Errorf("run %s file %s: %v; its bytes no longer match the record", r.ID, file.Name, err)
			}
		}
	}
}

// TestFileNamesPerRun: two runs in one minute with a {fired} pattern, and
// three runs of one day with the default pattern, each write files of
// their own that match their records; keep: 2 keeps two runs' files.
func TestFileNamesPerRun(t *testing.T) {
	minute := cfg("minute")
	minute.Filename = "{report}_{fired}.{ext}"
	daily := cfg("daily")
	daily.Keep = 2
	f := newFixture(t, nil, []Config{minute, daily}, idRun().run, nil)
	var runs []Run
	for _, at := range []string{"2026-11-03T05:00:10Z", "2026-11-03T05:00:40Z"} {
		f.clock.Set(utc(at))
		r, err := f.s.RunNow(context.Background(), "minute")
		if err != nil {
			t.Fatal(err)
		}
		runs = append(runs, r)
	}
	if runs[0].Files[0].Name == runs[1].Files[0].Name || !strings.Contains(runs[1].Files[0].Name, "T050040") {
		t.Errorf("names %s and %s", runs[0].Files[0].Name, runs[1].Files[0].Name)
	}
	checkFiles(t, runs)

	runs = nil
	for _, at := range []string{"2026-11-03T05:00:00Z", "2026-11-03T09:00:00Z", "2026-11-03T13:00:00Z"} {
		f.clock.Set(utc(at))
		r, err := f.s.RunNow(context.Background(), "daily")
		if err != nil {
			t.Fatal(err)
		}
		runs = append(runs, r)
	}
	names := dirFiles(t, filepath.Join(f.root, "daily"))
	want := []string{runs[1].Files[0].Name, runs[2].Files[0].Name}
	slices.Sort(want)
	if strings.Join(names, " ") != strings.Join(want, " ") || want[0] == want[1] {
		t.Errorf("keep 2: folder %v, want the newest two runs' files %v", names, want)
	}
	checkFiles(t, runs[1:])
}

// TestCommitNeverOverwrites: an output whose name exists is not committed,
// and the existing file is left as it was.
func TestCommitNeverOverwrites(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "disclosures.csv")
	if err := os.WriteFile(target, []byte("an earlier run's file"), 0o600); err != nil {
		t.Fatal(err)
	}
	o, err := createOutput(target, "csv")
	if err != nil {
		t.Fatal(err)
	}
	_, _ = o.Write([]byte("new"))
	if err := o.finish(); err != nil {
		t.Fatal(err)
	}
	err = o.commit()
	o.discard()
	b, _ := os.ReadFile(target)
	if err == nil || !strings.Contains(err.Error(), "exists already") || string(b) != "an earlier run's file" {
		t.Errorf("commit over an existing file: %v; the file now holds %q", err, b)
	}
}

// TestSkipRecordedWhileClickHouseStalls: a fire skipped while ClickHouse
// stalls (SIGSTOP) cannot be written then; it is written once ClickHouse
// answers again — here after the hung server was killed and restarted, so
// the write it never answered is gone.
func TestSkipRecordedWhileClickHouseStalls(t *testing.T) {
	release := make(chan struct{})
	var inside atomic.Int32
	fr := &fakeRun{hook: func(ctx context.Context, call int, req reports.RunRequest) error {
		if call == 1 {
			inside.Add(1)
			<-release
		}
		return nil
	}}
	f := newFixture(t, nil, []Config{cfg("nightly")}, fr.run, nil)
	f.s.o.recordTimeout = 2 * time.Second
	j := f.s.byName["nightly"]
	first := make(chan struct{})
	go func() {
		f.s.fire(j)
		close(first)
	}()
	waitFor(t, "the scheduled run to start", func() bool { return inside.Load() == 1 })
	if err := syscall.Kill(f.env.CH.Pid(), syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	f.s.fire(j) // skipped: the first run still runs, and ClickHouse stalls
	if !strings.Contains(f.logs.String(), "scheduled run skipped") {
		t.Fatalf("skip not logged:\n%s", f.logs)
	}
	f.env.CH.Kill()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := f.env.CH.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	close(release)
	<-first
	var skips []Run
	deadline := time.Now().Add(time.Minute) // reconnecting after the restart
	for len(skips) == 0 && time.Now().Before(deadline) {
		f.s.flushUnrecorded()
		runs, _ := f.s.Runs(ctx, RunFilter{Schedule: "nightly", Limit: 1000})
		for _, r := range runs {
			if r.Status == StatusSkipped {
				skips = append(skips, r)
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	if len(skips) != 1 || !strings.Contains(skips[0].Error, "previous run of this schedule was still running") {
		t.Errorf("skips recorded: %+v\n%s", skips, f.logs)
	}
}

// TestValidateWithoutClickHouse: without a runner (before storage opens),
// Validate refuses unknown reports and formats from the built-in catalog.
func TestValidateWithoutClickHouse(t *testing.T) {
	bad := cfg("typo")
	bad.Report = "disclosure"
	pdf := cfg("pdf")
	pdf.Formats = []string{"pdf"}
	err := Validate([]Config{cfg("fine"), bad, pdf}, nil)
	if err == nil || !strings.Contains(err.Error(), `schedule typo: unknown report "disclosure" (did you mean disclosures?); the catalog has: access-review`) ||
		!strings.Contains(err.Error(), `schedule pdf: unknown format "pdf"`) || strings.Contains(err.Error(), "fine") {
		t.Errorf("Validate without a runner: %v", err)
	}
}
