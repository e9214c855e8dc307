package schedule

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"time"

	"github.com/google/uuid"

	"github.com/privaudit/privaudit/audit"
	"github.com/privaudit/privaudit/audit/apierr"
	"github.com/privaudit/privaudit/audit/auth"
	"github.com/privaudit/privaudit/reports"
)

// ErrRunning is returned by RunNow when the schedule is running already.
var ErrRunning = errors.New("the schedule is running now")

// RunNow runs the schedule name now, exactly as a fire of its cron spec
// would (period relative to now, retries, recording, retention), and waits
// for it. The caller's identity (auth.FromContext) is recorded as
// requested_by. If ctx ends first, RunNow returns the run as started and
// ctx's error; the run goes on (Stop waits for it). A run that ends in
// any status but success is returned with an error.
func (s *Scheduler) RunNow(ctx context.Context, name string) (Run, error) {
	r, done, err := s.startNow(ctx, name)
	if err != nil {
		return Run{}, err
	}
	select {
	case r = <-done:
	case <-ctx.Done():
		return r, fmt.Errorf("schedule %s: run %s goes on in the background: %w", name, r.ID, ctx.Err())
	}
	if r.Status != StatusSuccess {
		return r, fmt.Errorf("schedule %s: run %s %s: %s", name, r.ID, r.Status, r.Error)
	}
	return r, nil
}

// startNow starts a manual run and returns it as started and a channel
// delivering its final attempt.
func (s *Scheduler) startNow(ctx context.Context, name string) (Run, <-chan Run, error) {
	j, ok := s.byName[name]
	if !ok {
		return Run{}, nil, s.unknown(name)
	}
	if !s.begin() {
		return Run{}, nil, apierr.Errorf(apierr.Unavailable, "the scheduler is stopping; try again once privaudit is back")
	}
	if !j.tryLock(TriggerManual) {
		s.wg.Done()
		e := apierr.Errorf(apierr.Unavailable, "schedule %s is running now; try again when it has finished (`privaudit runs --schedule %s`)", name, name)
		e.RetryAfter, e.Err = time.Minute, ErrRunning
		return Run{}, nil, e
	}
	by := ""
	if id, ok := auth.FromContext(ctx); ok {
		by = id.Name
	}
	r := s.newRun(j, TriggerManual, s.now(), by)
	done := make(chan Run, 1)
	go func(r Run) {
		defer s.wg.Done()
		// Unlock before delivering: whoever waits on done may start the
		// next run at once.
		final := func() Run {
			defer j.unlock()
			return s.execute(s.ctx, j, r)
		}()
		done <- final
	}(r)
	r.Status, r.Attempt, r.StartedAt = StatusRunning, 1, s.now()
	return r, done, nil
}

// StartNow starts a run of schedule name now, as POST
// /v1/schedules/{name}/run does: a manual run, recorded under the token in
// ctx (auth.WithIdentity). It returns the run as started and a channel that
// yields it once finished; the run does not depend on ctx.
func (s *Scheduler) StartNow(ctx context.Context, name string) (Run, <-chan Run, error) {
	return s.startNow(ctx, name)
}

// newRun describes a run of j fired at fired.
func (s *Scheduler) newRun(j *job, trigger string, fired time.Time, by string) Run {
	from, to := j.period(fired)
	return Run{ID: uuid.NewString(), Schedule: j.cfg.Name, Report: j.cfg.runName(), Trigger: trigger, RequestedBy: by,
		Instance: s.o.Instance, FiredAt: fired.UTC(), From: from, To: to, Formats: j.cfg.Formats}
}

// execute runs r's attempts: the first, then retries with backoff while
// the failure may be transient. The caller holds j.lock.
func (s *Scheduler) execute(ctx context.Context, j *job, r Run) Run {
	j.running.Store(true)
	defer j.running.Store(false)
	for n := 1; ; n++ {
		r.Attempt = n
		var retry bool
		r, retry = s.attempt(ctx, j, r)
		if r.Status == StatusSuccess {
			s.prune(ctx, j)
			s.queueDelivery(j, r, nil)
			break
		}
		if !retry || n > j.cfg.Retries {
			break
		}
		wait := backoff(j.cfg.RetryBackoff, n)
		s.log.Warn("scheduled run failed; retrying", "schedule", r.Schedule, "run_id", r.ID, "attempt", n,
			"retry_in", wait, "err", r.Error)
		if !s.sleep(ctx, wait) {
			s.log.Warn("scheduled run: retry abandoned, privaudit is stopping", "schedule", r.Schedule, "run_id", r.ID)
			break
		}
	}
	j.mu.Lock()
	last := r
	j.last = &last
	j.mu.Unlock()
	return r
}

// sleep waits d; false if the scheduler stops meanwhile.
func (s *Scheduler) sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-s.stopping:
	case <-ctx.Done():
	}
	return false
}

// attempt runs one attempt and records it (at its start and its end); it
// reports whether a failure is worth retrying.
func (s *Scheduler) attempt(ctx context.Context, j *job, r Run) (Run, bool) {
	r.Status, r.StartedAt, r.FinishedAt, r.Error = StatusRunning, s.now(), time.Time{}, ""
	r.Files, r.Rows, r.DetailSHA256, r.DurationMS = nil, 0, "", 0
	s.record(r)
	start := time.Now()
	err := s.produce(ctx, j, &r)
	r.FinishedAt, r.DurationMS = s.now(), time.Since(start).Milliseconds()
	retry := false
	var pe *panicError
	switch {
	case err == nil:
		r.Status = StatusSuccess
		s.markPending(j, r)
	case errors.As(err, &pe):
		r.Status, r.Error = StatusPanic, pe.Error()
		s.log.Error("scheduled run panicked", "schedule", r.Schedule, "run_id", r.ID, "panic", pe.Error(), "stack", string(pe.stack))
	case ctx.Err() != nil:
		r.Status, r.Error = StatusCanceled, "canceled: privaudit stopped during the run: "+err.Error()
	default:
		code := apierr.Code(err)
		r.Status, r.Error = StatusFailed, err.Error()
		retry = code != apierr.Invalid && code != apierr.NotFound
	}
	s.record(r)
	s.logDone(r)
	return r, retry
}

// panicError is a panic recovered from a run.
type panicError struct {
	value any
	stack []byte
}

func (p *panicError) Error() string { return fmt.Sprintf("panic: %v", p.value) }

// produce renders every format of r into temporary files and, once all
// are complete, gives them their names (never replacing a file). On any
// failure or panic the temporary files are removed and no file of r
// stays visible.
func (s *Scheduler) produce(ctx context.Context, j *job, r *Run) (err error) {
	var outs []*output
	committed := 0 // outputs given their names
	defer func() {
		if p := recover(); p != nil {
			err = &panicError{value: p, stack: debug.Stack()}
		}
		if committed < len(outs) {
			for i, o := range outs {
				if i < committed {
					o.uncommit()
				} else {
					o.discard()
				}
			}
		}
	}()
	if j.cfg.isVerify() {
		return s.runVerify(ctx, j, r)
	}
	if err := os.MkdirAll(j.dir, 0o750); err != nil {
		return fmt.Errorf("output folder: %w", err)
	}
	var events []string
	for i, f := range j.cfg.Formats {
		o, err := createOutput(filepath.Join(j.dir, j.fileName(*r, f)), f)
		if err != nil {
			return err
		}
		outs = append(outs, o)
		res, err := s.run(ctx, s.request(j, *r, f, o))
		if err != nil {
			return err
		}
		if err := o.finish(); err != nil {
			return err
		}
		if i == 0 {
			r.Rows, r.DetailSHA256 = res.Rows, res.SHA256
		} else if res.SHA256 != r.DetailSHA256 {
			s.log.Warn("scheduled run: formats differ (data of the period arrived between renderings)",
				"schedule", r.Schedule, "run_id", r.ID, "format", f)
		}
		events = append(events, res.EventID)
	}
	for _, o := range outs {
		if err := o.commit(); err != nil {
			return err
		}
		committed++
	}
	for i, o := range outs {
		r.Files = append(r.Files, o.file(events[i]))
	}
	return syncDir(j.dir)
}

// request is the report request of one format of r. A run started by hand
// is recorded under the officer who started it; any other under the
// schedule's name.
func (s *Scheduler) request(j *job, r Run, format string, out *output) reports.RunRequest {
	start, last := time.Now(), time.Now()
	req := reports.RunRequest{Report: j.cfg.Report, From: r.From, To: r.To, Params: j.cfg.Params, Filters: j.cfg.Filters, Format: format,
		TimeZone: j.loc.String(), Actor: actor(j.cfg.Name), ActorType: "system", Channel: audit.TrailChannelSchedule,
		RequestID: r.ID, Out: out,
		Attrs: map[string]string{"schedule": r.Schedule, "run_id": r.ID, "trigger": r.Trigger}}
	if r.Trigger == TriggerManual && r.RequestedBy != "" {
		req.Actor, req.ActorType, req.Channel = r.RequestedBy, audit.TrailActorType, audit.TrailChannelManual
	}
	req.Progress = func(rows int64) {
		if time.Since(last) < s.o.ProgressEvery {
			return
		}
		last = time.Now()
		s.log.Info("scheduled run in progress", "schedule", r.Schedule, "run_id", r.ID, "format", format,
			"rows", rows, "bytes", out.n, "elapsed", time.Since(start).Round(time.Second))
	}
	return req
}

// record writes r to the run history, with its own bounded context so a
// run cancelled by shutdown is still recorded. A row ClickHouse does not
// take (it is down or stalls) is kept in memory and written after the next
// row that succeeds, or at Stop; rows carry versions, so the order does not
// matter.
func (s *Scheduler) record(r Run) {
	if err := s.write(r); err != nil {
		s.unrecordedMu.Lock()
		if len(s.unrecorded) >= maxUnrecorded {
			old := s.unrecorded[0]
			s.unrecorded = s.unrecorded[1:]
			s.log.Error("scheduled run record dropped: too many rows wait for ClickHouse", "schedule", old.Schedule,
				"run_id", old.ID, "status", old.Status)
		}
		s.unrecorded = append(s.unrecorded, r)
		n := len(s.unrecorded)
		s.unrecordedMu.Unlock()
		s.log.Error("scheduled run not recorded yet; kept to write with the next record", "schedule", r.Schedule,
			"run_id", r.ID, "status", r.Status, "waiting", n, "err", err)
		return
	}
	s.flushUnrecorded()
}

// sameRow reports whether a and b are the same row of the history.
func sameRow(a, b Run) bool { return a.ID == b.ID && a.Attempt == b.Attempt && a.Status == b.Status }

// maxUnrecorded bounds the run rows kept while ClickHouse refuses them.
const maxUnrecorded = 10_000

// write writes one row of the run history.
func (s *Scheduler) write(r Run) error {
	ctx, cancel := context.WithTimeout(context.Background(), s.o.recordTimeout)
	defer cancel()
	return s.st.record(ctx, r)
}

// flushUnrecorded writes the kept rows, oldest first, until one fails.
func (s *Scheduler) flushUnrecorded() {
	if !s.flushMu.TryLock() {
		return // another goroutine is flushing
	}
	defer s.flushMu.Unlock()
	for {
		s.unrecordedMu.Lock()
		if len(s.unrecorded) == 0 {
			s.unrecordedMu.Unlock()
			return
		}
		r := s.unrecorded[0]
		s.unrecordedMu.Unlock()
		if err := s.write(r); err != nil {
			s.log.Error("scheduled run still not recorded", "schedule", r.Schedule, "run_id", r.ID, "err", err)
			return
		}
		s.unrecordedMu.Lock()
		if len(s.unrecorded) > 0 && sameRow(s.unrecorded[0], r) {
			s.unrecorded = s.unrecorded[1:]
		}
		s.unrecordedMu.Unlock()
		s.log.Info("scheduled run recorded late", "schedule", r.Schedule, "run_id", r.ID, "status", r.Status)
	}
}

// logDone logs one line for a finished attempt.
func (s *Scheduler) logDone(r Run) {
	attrs := []any{"schedule", r.Schedule, "report", r.Report, "run_id", r.ID, "attempt", r.Attempt,
		"trigger", r.Trigger, "period_from", r.From, "period_to", r.To, "status", r.Status,
		"rows", r.Rows, "bytes", r.Bytes(), "files", len(r.Files),
		"duration", (time.Duration(r.DurationMS) * time.Millisecond).String()}
	if r.Status == StatusSuccess {
		s.log.Info("scheduled run finished", attrs...)
		return
	}
	s.log.Error("scheduled run failed", append(attrs, "err", r.Error)...)
}
