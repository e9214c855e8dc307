package verify

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/privaudit/privaudit/queries"
)

// JobOptions configure NewJob.
type JobOptions struct {
	Conn   driver.Conn
	Schema queries.Schema
	// Registerer receives the gauges (see NewJob); required.
	Registerer prometheus.Registerer
	// ChunkEvents and RecheckAfter: as in Options.
	ChunkEvents  int64
	RecheckAfter time.Duration
	Logger       *slog.Logger
	// Now stamps the runs; default time.Now.
	Now func() time.Time
	// Settle, when set, runs before each check and waits until the records
	// accepted before it are stored with their verdicts (the server's
	// Ingestor.WaitVerdicts), so they are not reported as differences.
	Settle func(ctx context.Context) (time.Time, error)
}

// Job runs scheduled checks and publishes each schedule's last result as
// gauges labelled schedule:
//
//	privaudit_verify_verdicts_checked                 access events recomputed
//	privaudit_verify_verdicts_differing               stored verdict differs
//	privaudit_verify_verdicts_missing                 access event without stored verdict
//	privaudit_verify_verdicts_orphaned                stored verdict without access event
//	privaudit_verify_verdicts_last_run_timestamp_seconds  end of the last run
//	privaudit_verify_verdicts_last_run_success        1 when it ran and found none differ
//
// The counts are those of the last run that completed; a run that fails
// to complete sets only the timestamp and success 0.
type Job struct {
	o                                     JobOptions
	checked, differing, missing, orphaned *prometheus.GaugeVec
	lastRun, success                      *prometheus.GaugeVec
}

// NewJob registers the gauges with o.Registerer.
func NewJob(o JobOptions) (*Job, error) {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	gauge := func(name, help string) *prometheus.GaugeVec {
		return prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "privaudit_verify_verdicts_" + name, Help: help}, []string{"schedule"})
	}
	j := &Job{o: o,
		checked:   gauge("checked", "Access events whose verdict the last verify verdicts run recomputed."),
		differing: gauge("differing", "Access events whose stored verdict differed from the recomputed one in the last run."),
		missing:   gauge("missing", "Access events without a stored verdict in the last run."),
		orphaned:  gauge("orphaned", "Stored verdicts without an access event in the last run."),
		lastRun:   gauge("last_run_timestamp_seconds", "When the last verify verdicts run ended (Unix seconds)."),
		success:   gauge("last_run_success", "1 when the last verify verdicts run completed and found no difference, else 0."),
	}
	for _, c := range []prometheus.Collector{j.checked, j.differing, j.missing, j.orphaned, j.lastRun, j.success} {
		if err := o.Registerer.Register(c); err != nil {
			return nil, fmt.Errorf("verify verdicts metrics: %w", err)
		}
	}
	return j, nil
}

// Run checks [from, to) for the schedule named schedule and publishes the
// result.
func (j *Job) Run(ctx context.Context, schedule string, from, to time.Time) (Result, error) {
	res, err := j.check(ctx, from, to)
	j.publish(schedule, res, err)
	return res, err
}

func (j *Job) check(ctx context.Context, from, to time.Time) (Result, error) {
	if j.o.Settle != nil {
		if _, err := j.o.Settle(ctx); err != nil {
			return Result{}, fmt.Errorf("verify verdicts: wait for the verdicts of the records accepted: %w", err)
		}
	}
	return Verdicts(ctx, Options{Conn: j.o.Conn, Schema: j.o.Schema, From: from, To: to,
		ChunkEvents: j.o.ChunkEvents, RecheckAfter: j.o.RecheckAfter, Logger: j.o.Logger})
}

// publish sets the gauges of schedule from a run's outcome.
func (j *Job) publish(schedule string, res Result, err error) {
	j.lastRun.WithLabelValues(schedule).Set(float64(j.o.Now().Unix()))
	ok := 0.0
	if err == nil {
		j.checked.WithLabelValues(schedule).Set(float64(res.Checked))
		j.differing.WithLabelValues(schedule).Set(float64(res.Differing))
		j.missing.WithLabelValues(schedule).Set(float64(res.Missing))
		j.orphaned.WithLabelValues(schedule).Set(float64(res.Orphaned))
		if res.Clean() {
			ok = 1
		}
		j.o.Logger.Info("verify verdicts finished", "schedule", schedule, "checked", res.Checked, "differing", res.Differing,
			"missing", res.Missing, "orphaned", res.Orphaned, "min_ledger_position", res.MinPosition,
			"max_ledger_position", res.MaxPosition, "settled", res.Settled, "duration", res.Duration.Round(time.Millisecond))
	}
	j.success.WithLabelValues(schedule).Set(ok)
}
