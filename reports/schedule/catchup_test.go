package schedule

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
)

// seedRun records a finished run as if an earlier privaudit had made it.
func seedRun(t *testing.T, f *fixture, schedule, trigger, status string, fired time.Time) {
	t.Helper()
	r := Run{ID: uuid.NewString(), Attempt: 1, Schedule: schedule, Report: "disclosures", Trigger: trigger, FiredAt: fired,
		StartedAt: fired, FinishedAt: fired.Add(time.Minute), Status: status, Formats: []string{"csv"}}
	r.From, r.To = periodAt(PreviousDay, fired, time.UTC)
	if err := f.s.st.record(context.Background(), r); err != nil {
		t.Fatal(err)
	}
}

// startStop starts the scheduler, waits until it has caught up, and stops
// it.
func startStop(t *testing.T, s *Scheduler) {
	t.Helper()
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the catch-up", func() bool {
		for _, st := range s.List() {
			if st.CatchingUp {
				return false
			}
		}
		return true
	})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.Stop(ctx); err != nil {
		t.Fatal(err)
	}
}

// periods lists the periods the job body ran for a schedule, in order.
func periods(fr *fakeRun, schedule string) string {
	var out []string
	for _, r := range fr.requests() {
		if r.Actor == actor(schedule) {
			out = append(out, r.From.Format("01-02")+"/"+r.To.Format("01-02"))
		}
	}
	return strings.Join(out, " ")
}

// TestCatchUp: privaudit was down from 2026-10-29 02:00 (the last
// successful nightly run) until 2026-11-03 05:00; at start it runs the five
// missed nights oldest first, then nothing more on the next start.
func TestCatchUp(t *testing.T) {
	nightly := cfg("nightly")
	nightly.CatchUp = true
	limited := cfg("limited")
	limited.CatchUp, limited.CatchUpLimit = true, 2
	never := cfg("never")
	never.CatchUp = true
	off := cfg("off")
	fr := &fakeRun{}
	cfgs := []Config{nightly, limited, never, off}
	f := newFixture(t, nil, cfgs, fr.run, nil) // clock: 2026-11-03 05:00 UTC
	seedRun(t, f, "nightly", TriggerSchedule, StatusSuccess, utc("2026-10-29T02:00:00Z"))
	seedRun(t, f, "nightly", TriggerSchedule, StatusFailed, utc("2026-10-30T02:00:00Z"))
	seedRun(t, f, "nightly", TriggerManual, StatusSuccess, utc("2026-11-02T09:00:00Z")) // manual runs do not count
	seedRun(t, f, "limited", TriggerSchedule, StatusSuccess, utc("2026-10-01T02:00:00Z"))
	seedRun(t, f, "off", TriggerSchedule, StatusSuccess, utc("2026-10-01T02:00:00Z"))
	startStop(t, f.s)

	if got, want := periods(fr, "nightly"), "10-29/10-30 10-30/10-31 10-31/11-01 11-01/11-02 11-02/11-03"; got != want {
		t.Errorf("nightly caught up %q, want %q", got, want)
	}
	if got, want := periods(fr, "limited"), "11-01/11-02 11-02/11-03"; got != want {
		t.Errorf("limited caught up %q, want the 2 most recent %q", got, want)
	}
	if got := periods(fr, "never") + periods(fr, "off"); got != "" {
		t.Errorf("a schedule that never ran, or without catch_up, caught up %q", got)
	}
	n := 0
	for _, r := range runsOf(t, f.s, "nightly") {
		if r.Trigger == TriggerCatchUp {
			n++
			if r.Status != StatusSuccess || r.FiredAt.Hour() != 2 || len(r.Files) != 1 {
				t.Errorf("catch-up run %+v", r)
			}
		}
	}
	if n != 5 {
		t.Errorf("%d catch-up runs recorded, want 5", n)
	}
	if !strings.Contains(f.logs.String(), "dropped_older=31") {
		t.Errorf("the limit is not logged:\n%s", f.logs)
	}

	// A restart an hour later: nothing was missed since.
	again := &fakeRun{}
	f2 := newFixture(t, f.env, cfgs, again.run, nil)
	f2.clock.Set(utc("2026-11-03T06:00:00Z"))
	startStop(t, f2.s)
	if len(again.requests()) != 0 {
		t.Errorf("second start caught up again: %v", again.requests())
	}
}
