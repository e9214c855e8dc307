package schedule

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/robfig/cron/v3"

	"github.com/privaudit/privaudit/audit/apierr"
	"github.com/privaudit/privaudit/queries"
	"github.com/privaudit/privaudit/reports"
)

// RunFunc runs one report rendering; (*reports.Runner).Run is the real one.
type RunFunc func(ctx context.Context, req reports.RunRequest) (reports.RunResult, error)

// Options configure a Scheduler.
type Options struct {
	// Runner renders the reports; required.
	Runner *reports.Runner
	// Conn and Schema: where runs are recorded (MetaDB.report_runs).
	Conn   driver.Conn
	Schema queries.Schema
	// Schedules from the configuration; checked by New with Validate.
	Schedules []Config
	// OutputRoot is where a schedule without output_dir writes
	// (OutputRoot/NAME), and what relative output_dirs are resolved
	// against; e.g. DATA_DIR/reports.
	OutputRoot string
	// Now is the clock for fire times of manual and catch-up runs, next
	// fire times and recorded timestamps; default time.Now.
	Now    func() time.Time
	Logger *slog.Logger
	// Instance names this process in the run history; default the host name.
	Instance string
	// ProgressEvery is how often a long run logs its progress; default 30s.
	ProgressEvery time.Duration
	// Verify runs the checks of `verify:` schedules; required when one is
	// configured.
	Verify VerifyFunc

	// PublicURL is the address officers reach privaudit at
	// (https://privaudit.bank.example): e-mails link the files they do not
	// attach under it, and webhooks send their download addresses.
	PublicURL string
	// Registerer receives privaudit_delivery_attempts_total; optional.
	Registerer prometheus.Registerer
	// DeliveryBackoff is the wait before a delivery's second try (default
	// DefaultDeliveryBackoff).
	DeliveryBackoff time.Duration

	// deliverySleep waits between delivery tries; false if privaudit
	// stops meanwhile (default: the scheduler's sleep; tests: a recorder).
	deliverySleep func(ctx context.Context, d time.Duration) bool
	// run replaces Runner.Run (tests: a job body that blocks, fails or panics).
	run RunFunc
	// recordTimeout bounds one write of the run history; default 30s.
	recordTimeout time.Duration
}

// Scheduler runs the configured schedules.
type Scheduler struct {
	o      Options
	log    *slog.Logger
	st     *store
	run    RunFunc
	jobs   []*job
	byName map[string]*job
	cron   *cron.Cron

	// ctx is the runs' context: cancelled only when Stop's deadline passes.
	ctx      context.Context
	cancel   context.CancelFunc
	stopping chan struct{} // closed by Stop: no new runs, no more retries

	mu               sync.Mutex
	started, stopped bool
	wg               sync.WaitGroup // manual and catch-up runs
	created          time.Time      // when New ran (wall clock)

	// unrecorded holds the run rows ClickHouse did not take, written
	// before the next row (see record).
	unrecordedMu sync.Mutex
	unrecorded   []Run
	flushMu      sync.Mutex

	deliveries *prometheus.CounterVec
	// queued holds the runs whose delivery this process queued: the
	// start's recovery resumes only the others.
	queuedMu sync.Mutex
	queued   map[string]bool
}

// job is one schedule at run time.
type job struct {
	*compiled
	dir string
	// slot is held by the schedule's run (see tryLock): runs never overlap.
	slot    chan struct{}
	holder  atomic.Value // the trigger of the run holding slot
	waiting atomic.Bool  // a fire waits for slot
	running atomic.Bool
	// catchingUp is set from Start until j's catch-up has finished.
	catchingUp atomic.Bool
	entry      cron.EntryID

	mu   sync.Mutex
	last *Run
}

// New checks the schedules (see Validate) and prepares the scheduler; Start
// starts it.
func New(o Options) (*Scheduler, error) {
	if o.Conn == nil || (o.Runner == nil && o.run == nil) {
		return nil, errors.New("schedule: a ClickHouse connection and a report Runner are required")
	}
	cs, err := compileAll(o.Schedules, o.Runner)
	if err != nil {
		return nil, err
	}
	if err := CheckPublicURL(o.PublicURL); err != nil {
		return nil, err
	}
	o = withDefaults(o)
	st, err := newStore(o.Conn, o.Schema)
	if err != nil {
		return nil, err
	}
	s := &Scheduler{o: o, log: o.Logger, st: st, run: o.run, byName: map[string]*job{}, queued: map[string]bool{}, stopping: make(chan struct{}), created: time.Now(),
		cron: cron.New(cron.WithLocation(time.UTC), cron.WithLogger(cronLogger{o.Logger}))}
	if s.run == nil {
		s.run = o.Runner.Run
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	if s.deliveries, err = deliveryMetrics(o.Registerer); err != nil {
		return nil, fmt.Errorf("schedule: delivery metrics: %w", err)
	}
	if s.o.deliverySleep == nil {
		s.o.deliverySleep = s.sleep
	}
	for _, c := range cs {
		var dir string
		if c.cfg.isVerify() {
			if o.Verify == nil {
				return nil, fmt.Errorf("schedule %s: verify: %s needs a verifier (privaudit serve provides one)", c.cfg.Name, c.cfg.Verify)
			}
		} else if dir, err = outputDir(c.cfg, o.OutputRoot); err != nil {
			return nil, err
		}
		j := &job{compiled: c, dir: dir, slot: make(chan struct{}, 1)}
		s.jobs = append(s.jobs, j)
		s.byName[c.cfg.Name] = j
	}
	return s, nil
}

func withDefaults(o Options) Options {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Instance == "" {
		o.Instance, _ = os.Hostname()
	}
	if o.ProgressEvery <= 0 {
		o.ProgressEvery = 30 * time.Second
	}
	if o.DeliveryBackoff <= 0 {
		o.DeliveryBackoff = DefaultDeliveryBackoff
	}
	if o.recordTimeout <= 0 {
		o.recordTimeout = 30 * time.Second
	}
	return o
}

// outputDir resolves a schedule's output folder to an absolute path.
func outputDir(c Config, root string) (string, error) {
	dir := c.OutputDir
	if dir == "" {
		dir = c.Name
	}
	if !filepath.IsAbs(dir) {
		if root == "" {
			return "", fmt.Errorf("schedule %s: output_dir %q is relative and the scheduler has no output root; give an absolute output_dir", c.Name, c.OutputDir)
		}
		dir = filepath.Join(root, dir)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("schedule %s: output_dir: %w", c.Name, err)
	}
	return abs, nil
}

// Start creates the output folders, removes the temporary files of runs
// an exit of privaudit interrupted, starts the cron loop and, in the
// background, recovers each schedule: the attempts left 'running' are
// marked failed and their fires run again, and with catch_up the missed
// fires are run (see recoverJob). ctx bounds the start only: runs are
// stopped by Stop, not by ctx.
func (s *Scheduler) Start(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started || s.stopped {
		return errors.New("schedule: the scheduler can be started once")
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	for _, j := range s.jobs {
		if j.dir == "" {
			continue // a check writes no file
		}
		if err := os.MkdirAll(j.dir, 0o750); err != nil {
			return fmt.Errorf("schedule %s: output folder: %w", j.cfg.Name, err)
		}
		s.removeOrphans(j)
	}
	for _, j := range s.jobs {
		j.entry = s.cron.Schedule(j.sched, cron.FuncJob(func() { s.fire(j) }))
	}
	s.cron.Start()
	s.started = true
	for _, j := range s.jobs {
		s.wg.Add(1)
		j.catchingUp.Store(true)
		go func() {
			defer s.wg.Done()
			defer j.catchingUp.Store(false)
			s.recoverJob(j)
		}()
	}
	s.log.Info("scheduler started", "schedules", len(s.jobs))
	return nil
}

// Stop stops firing, abandons pending retries and waits for the runs in
// progress. If ctx ends first, the runs are cancelled (recorded as
// canceled, their temporary files removed) and Stop returns ctx's error.
func (s *Scheduler) Stop(ctx context.Context) error {
	s.mu.Lock()
	if s.stopped {
		s.mu.Unlock()
		return nil
	}
	s.stopped = true
	close(s.stopping)
	s.mu.Unlock()
	cronDone := s.cron.Stop()
	done := make(chan struct{})
	go func() {
		<-cronDone.Done()
		s.wg.Wait()
		close(done)
	}()
	defer s.cancel()
	select {
	case <-done:
		s.flushUnrecorded()
		s.log.Info("scheduler stopped")
		return nil
	case <-ctx.Done():
	}
	s.cancel()
	s.log.Warn("scheduler stop: cancelling the runs still in progress")
	select {
	case <-done:
	case <-time.After(30 * time.Second):
	}
	return fmt.Errorf("stop scheduler: %w", ctx.Err())
}

// begin registers a manual or catch-up run; false once stopping.
func (s *Scheduler) begin() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped {
		return false
	}
	s.wg.Add(1)
	return true
}

// fire is the cron job of j: it runs now, or after the manual or catch-up
// run in progress (see waitTurn); it is skipped if j's previous scheduled
// run still runs.
func (s *Scheduler) fire(j *job) {
	fired := s.cron.Entry(j.entry).Prev
	if fired.IsZero() || fired.After(time.Now()) {
		fired = s.now().Truncate(time.Second)
	}
	r := s.newRun(j, TriggerSchedule, fired, "")
	if !j.tryLock(TriggerSchedule) && !s.waitTurn(j, r) {
		return
	}
	defer j.unlock()
	s.execute(s.ctx, j, r)
}

// waitTurn handles a fire r that found j's slot taken. While a scheduled
// run is in progress the fire is skipped; while a manual or catch-up run
// is, the fire waits for it and then runs, unless a run meanwhile
// produced its fire time. One fire waits at most; another is skipped.
// It reports whether r now holds the slot.
func (s *Scheduler) waitTurn(j *job, r Run) bool {
	if j.tryLock(TriggerSchedule) {
		return true // the run in progress has just ended
	}
	h, _ := j.holder.Load().(string)
	if h == TriggerSchedule {
		s.skip(r, "skipped: the previous run of this schedule was still running")
		return false
	}
	if !j.waiting.CompareAndSwap(false, true) {
		s.skip(r, "skipped: a "+h+" run of this schedule was in progress and an earlier fire was already waiting for it")
		return false
	}
	defer j.waiting.Store(false)
	s.log.Info("scheduled run waits for the run in progress", "schedule", r.Schedule, "fired_at", r.FiredAt, "running", h)
	if !j.lock(TriggerSchedule, s.stopping) {
		s.skip(r, "skipped: privaudit stopped while this fire waited for a "+h+" run")
		return false
	}
	ctx, cancel := context.WithTimeout(s.ctx, s.o.recordTimeout)
	defer cancel()
	if done, err := s.st.firedOK(ctx, r.Schedule, r.FiredAt); err == nil && done {
		s.log.Info("scheduled run already produced by a catch-up", "schedule", r.Schedule, "fired_at", r.FiredAt)
		j.unlock()
		return false
	}
	return true
}

// skip records a fire that did not run, and why.
func (s *Scheduler) skip(r Run, reason string) {
	r.Attempt, r.Status = 1, StatusSkipped
	r.StartedAt, r.FinishedAt = s.now(), s.now()
	r.Error = reason
	s.log.Warn("scheduled run skipped", "schedule", r.Schedule, "fired_at", r.FiredAt, "reason", reason)
	s.record(r)
}

// unknown is the error for a schedule name that is not configured.
func (s *Scheduler) unknown(name string) error {
	names := make([]string, len(s.jobs))
	for i, j := range s.jobs {
		names[i] = j.cfg.Name
	}
	return apierr.Errorf(apierr.NotFound, "no schedule %q%s; `privaudit schedule list` shows the configured ones", name, queries.DidYouMean(name, names))
}

func (s *Scheduler) now() time.Time { return s.o.Now().UTC() }

// Status is a schedule as List shows it.
type Status struct {
	Config
	// Next is the next fire time (zero if the spec never fires again).
	Next time.Time `json:"next"`
	// NextFrom and NextTo are the period the next run will cover.
	NextFrom time.Time `json:"next_period_from,omitzero"`
	NextTo   time.Time `json:"next_period_to,omitzero"`
	// OutputPath is the resolved output folder, a server path: never sent
	// to clients, which name run files only.
	OutputPath string `json:"-"`
	Running    bool   `json:"running"`
	// CatchingUp is true while the runs missed before the start are run.
	CatchingUp bool `json:"catching_up"`
	// Last is the last run of this process (not of the history).
	Last *Run `json:"last,omitempty"`
}

// List returns every schedule with its next fire time, in configuration
// order.
func (s *Scheduler) List() []Status {
	now := s.now()
	out := make([]Status, 0, len(s.jobs))
	for _, j := range s.jobs {
		st := Status{Config: j.cfg, Next: j.sched.Next(now), OutputPath: j.dir, Running: j.running.Load(),
			CatchingUp: j.catchingUp.Load()}
		if !st.Next.IsZero() {
			st.NextFrom, st.NextTo = j.period(st.Next)
		}
		j.mu.Lock()
		if j.last != nil {
			l := *j.last
			st.Last = &l
		}
		j.mu.Unlock()
		out = append(out, st)
	}
	return out
}

// Runs returns the recorded run history, newest first.
func (s *Scheduler) Runs(ctx context.Context, f RunFilter) ([]Run, error) {
	runs, err := s.st.runs(ctx, f)
	if err != nil {
		return nil, err
	}
	return s.st.withDeliveries(ctx, runs)
}

// cronLogger sends robfig/cron's messages to slog: its chatter at debug.
type cronLogger struct{ log *slog.Logger }

func (l cronLogger) Info(msg string, kv ...any) { l.log.Debug("cron: "+msg, kv...) }

func (l cronLogger) Error(err error, msg string, kv ...any) {
	l.log.Error("cron: "+msg, append(kv, "err", err)...)
}
