package proof

import (
	"context"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// JobOptions configure a Job.
type JobOptions struct {
	// Verify configures each run; its External is replaced by
	// Externals' answer at each run.
	Verify Options
	// Externals reads the checkpoints held outside ClickHouse anew at each
	// run (an export folder grows); nil: none.
	Externals func() ([]External, error)
	// Interval is the time between runs.
	Interval   time.Duration
	Registerer prometheus.Registerer
}

// Job runs Verify on a schedule and exports its result as metrics:
// privaudit_verify_clean (1 clean, 0 findings, -1 before the first run),
// privaudit_verify_findings
// by kind, privaudit_verify_last_run_unixtime, and
// privaudit_verify_errors_total for runs that could not check.
type Job struct {
	o        JobOptions
	clean    prometheus.Gauge
	findings *prometheus.GaugeVec
	lastRun  prometheus.Gauge
	duration prometheus.Gauge
	errors   prometheus.Counter
}

// NewJob prepares a Job; Run starts it.
func NewJob(o JobOptions) *Job {
	j := &Job{o: o,
		clean: prometheus.NewGauge(prometheus.GaugeOpts{Name: "privaudit_verify_clean",
			Help: "1 when the last scheduled privaudit verify found the proof log clean, 0 when it found something (see privaudit_verify_findings and the log), -1 before the first run."}),
		findings: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "privaudit_verify_findings",
			Help: "Findings of the last scheduled privaudit verify, by kind (altered, deleted, inserted, …)."}, []string{"kind"}),
		lastRun: prometheus.NewGauge(prometheus.GaugeOpts{Name: "privaudit_verify_last_run_unixtime",
			Help: "When the last scheduled privaudit verify ended (Unix seconds)."}),
		duration: prometheus.NewGauge(prometheus.GaugeOpts{Name: "privaudit_verify_duration_seconds",
			Help: "How long the last scheduled privaudit verify took."}),
		errors: prometheus.NewCounter(prometheus.CounterOpts{Name: "privaudit_verify_errors_total",
			Help: "Scheduled privaudit verify runs that could not check (ClickHouse unreachable, …)."}),
	}
	if o.Registerer != nil {
		o.Registerer.MustRegister(j.clean, j.findings, j.lastRun, j.duration, j.errors)
	}
	j.clean.Set(-1)
	if j.o.Verify.Logger == nil {
		j.o.Verify.Logger = slog.New(slog.DiscardHandler)
	}
	return j
}

// Run verifies every Interval until ctx ends.
func (j *Job) Run(ctx context.Context) {
	t := time.NewTicker(j.o.Interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if _, err := j.Once(ctx); err != nil && ctx.Err() == nil {
			j.o.Verify.Logger.Error("scheduled verify could not check the proof log; retried at the next run", "err", err)
		}
	}
}

// Once runs Verify once and sets the metrics from its result.
func (j *Job) Once(ctx context.Context) (*Result, error) {
	start := time.Now()
	o := j.o.Verify
	if j.o.Externals != nil {
		ext, err := j.o.Externals()
		if err != nil {
			j.errors.Inc()
			return nil, err
		}
		o.External = ext
	}
	res, err := Verify(ctx, o)
	if err != nil {
		j.errors.Inc()
		return nil, err
	}
	j.findings.Reset()
	for k, n := range res.Counts {
		j.findings.WithLabelValues(string(k)).Set(float64(n))
	}
	if res.Clean() {
		j.clean.Set(1)
		o.Logger.Info("scheduled verify: the proof log is clean", "leaves", res.TreeSize, "records", res.Records, "retained", res.Retained)
	} else {
		j.clean.Set(0)
		o.Logger.Error("scheduled verify: records or checkpoints were changed outside privaudit; run privaudit verify for the list", "findings", res.Total())
	}
	j.duration.Set(time.Since(start).Seconds())
	j.lastRun.Set(float64(time.Now().Unix()))
	return res, nil
}
