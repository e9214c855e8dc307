package retention

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/privaudit/privaudit/audit"
	"github.com/privaudit/privaudit/queries"
)

// Drop states recorded in MetaDB.retention_drops.
const (
	StatusIntent    = "intent"
	StatusDone      = "done"
	StatusKept      = "kept"
	StatusCancelled = "cancelled"
)

// Crash stages: where Options.Crash is called during a drop.
const (
	// StageIntent is after the intent is recorded, before the DROP.
	StageIntent = "intent"
	// StageDropped is after the DROP, before the done is recorded.
	StageDropped = "dropped"
)

// Options configure a Job.
type Options struct {
	Conn   driver.Conn
	Schema queries.Schema
	// Replicas, in cluster mode, are one connection to each replica: a
	// partition is dropped through the replica leading its table (the
	// drop then reaches every replica through the replication log).
	Replicas []driver.Conn
	// Policy is each table's retention (DefaultPolicy when nil).
	Policy Policy
	// AllowShortRetention lets tests keep record tables less than
	// MinRecordMonths; never set from the configuration.
	AllowShortRetention bool
	// Job and Instance name what recorded each drop.
	Job, Instance string
	// Registerer receives the job's metrics (none when nil).
	Registerer prometheus.Registerer
	Logger     *slog.Logger
	// Now is the clock (time.Now when nil).
	Now func() time.Time
	// Crash, when set, is called at each stage of a drop; an error stops
	// the run there as a crash would (tests).
	Crash func(stage string, d Drop) error
	// Key, when set, signs each drop with the proof log leaves it removes
	// (audit.DropSeal); without it drops stay unsigned.
	Key *audit.ProofKey
	// Pause, when set, holds the intake's writes back while a partition
	// past its retention is weighed and dropped, from reading its holds
	// and sealing its leaves to the DROP, so no record lands in it in
	// between; resume lets them go on. serve sets it to the proof log's
	// (ingest.ProofLog.Pause).
	Pause func() (resume func())
}

// Drop is one recorded retention decision about a partition.
type Drop struct {
	ID, DB, Table, Partition string
	// From and To are the partition's month; MinTime, MaxTime and Rows what
	// it held when dropped.
	From, To, MinTime, MaxTime time.Time
	Rows                       uint64
	Months                     int
	Status, Detail             string
	Job, Instance              string
	IntendedAt, DoneAt         time.Time
	// Signature is the drop's signed seal (audit.ProofKey.SignDrop), ""
	// when unsigned.
	Signature string
}

// Job enforces the retention policy.
type Job struct {
	o       Options
	holds   *Holds
	sql     map[string]string
	dropped prometheus.Counter
	lastRun prometheus.Gauge
}

// NewJob checks the policy and prepares the job's statements.
func NewJob(o Options) (*Job, error) {
	if o.Policy == nil {
		o.Policy = DefaultPolicy()
	}
	floor := MinRecordMonths
	if o.AllowShortRetention {
		floor = 1
	}
	if err := o.Policy.validate(floor); err != nil {
		return nil, err
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Job == "" {
		o.Job = "retention"
	}
	holds, err := NewHolds(o.Conn, o.Schema)
	if err != nil {
		return nil, err
	}
	j := &Job{o: o, holds: holds, sql: map[string]string{}}
	names := []string{"parts", "record_drop", "open_intents", "is_leader", "insert_drop_leaves", "drop_leaves"}
	for _, t := range Tables {
		if t.Kind != "" {
			names = append(names, "leaves_"+t.Name)
		}
		names = append(names, "stats_"+t.Name, "drop_"+t.Name)
		if t.Subject {
			names = append(names, "held_"+t.Name)
		}
	}
	for _, n := range names {
		if j.sql[n], err = queries.Retention(n, o.Schema); err != nil {
			return nil, err
		}
	}
	j.metrics()
	return j, nil
}

func (j *Job) metrics() {
	j.dropped = prometheus.NewCounter(prometheus.CounterOpts{Name: "privaudit_retention_partitions_dropped_total",
		Help: "Monthly partitions dropped by the retention job past their table's retention."})
	j.lastRun = prometheus.NewGauge(prometheus.GaugeOpts{Name: "privaudit_retention_last_run_unixtime",
		Help: "When the retention job last completed a run (Unix seconds)."})
	if r := j.o.Registerer; r != nil {
		r.MustRegister(j.dropped, j.lastRun, prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "privaudit_legal_holds",
			Help: "Legal holds standing (set and not lifted)."}, j.countHolds))
	}
}

func (j *Job) countHolds() float64 {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	hs, err := j.holds.standing(ctx)
	if err != nil {
		return -1
	}
	return float64(len(hs))
}

// Holds is the legal holds the job honours.
func (j *Job) Holds() *Holds { return j.holds }

// Run finishes any drop left unfinished by a crash, then drops every
// partition past its table's retention that no standing hold keeps.
func (j *Job) Run(ctx context.Context) error {
	if err := j.rollForward(ctx); err != nil {
		return err
	}
	now := j.o.Now()
	var errs []error
	for _, t := range Tables {
		if m := j.o.Policy[t.Name]; m > 0 {
			if err := j.enforce(ctx, t, m, now); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if len(errs) == 0 {
		j.lastRun.SetToCurrentTime()
	}
	return errors.Join(errs...)
}

// partition is one active partition as system.parts lists it.
type partition struct {
	id string
}

func (j *Job) partitions(ctx context.Context, t Table) ([]partition, error) {
	rows, err := j.o.Conn.Query(ctx, j.sql["parts"], j.db(t), t.Name)
	if err != nil {
		return nil, fmt.Errorf("retention: list partitions of %s: %w", t.Name, err)
	}
	defer rows.Close()
	var out []partition
	for rows.Next() {
		var p partition
		if err := rows.Scan(&p.id); err != nil {
			return nil, fmt.Errorf("retention: list partitions of %s: %w", t.Name, err)
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

func (j *Job) db(t Table) string {
	if t.Meta {
		return j.o.Schema.MetaDB
	}
	return j.o.Schema.DB
}

// enforce drops the partitions of t past months, or records why a hold
// kept them.
func (j *Job) enforce(ctx context.Context, t Table, months int, now time.Time) error {
	parts, err := j.partitions(ctx, t)
	if err != nil {
		return err
	}
	limit := cutoff(now, months)
	for _, p := range parts {
		from, to, ok := monthRange(p.id)
		if !ok {
			j.o.Logger.Warn("retention: partition id is not a month; left alone", "table", t.Name, "partition", p.id)
			continue
		}
		if to.After(limit) {
			continue
		}
		d := Drop{ID: uuid.NewString(), DB: j.db(t), Table: t.Name, Partition: p.id, From: from, To: to,
			Months: months, Job: j.o.Job, Instance: j.o.Instance, IntendedAt: now.UTC().Truncate(time.Second)}
		if err := j.paused(d, func() error { return j.settle(ctx, t, d) }); err != nil {
			return err
		}
	}
	return nil
}

// settle drops the partition of d, past its retention, or records the
// holds that keep it.
func (j *Job) settle(ctx context.Context, t Table, d Drop) error {
	if err := j.stats(ctx, t, &d); err != nil {
		return err
	}
	why, err := j.heldBy(ctx, t, d)
	if err != nil {
		return err
	}
	if why == "" {
		return j.drop(ctx, t, d)
	}
	d.Status, d.Detail = StatusKept, why
	j.o.Logger.Info("retention: partition past its retention kept under a legal hold", "table", t.Name, "partition", d.Partition, "holds", why)
	return j.record(ctx, d, 1)
}

// paused runs f, about the partition of d, with the intake's writes held
// back (Options.Pause), and logs how long they waited.
func (j *Job) paused(d Drop, f func() error) error {
	if j.o.Pause == nil {
		return f()
	}
	start := time.Now()
	resume := j.o.Pause()
	err := f()
	resume()
	j.o.Logger.Info("retention: intake writes held back while a partition past its retention was weighed and dropped",
		"table", d.Table, "partition", d.Partition, "held", time.Since(start).Round(time.Millisecond))
	return err
}

// stats fills what the partition of d holds.
func (j *Job) stats(ctx context.Context, t Table, d *Drop) error {
	var n uint64
	err := j.o.Conn.QueryRow(ctx, j.sql["stats_"+t.Name], month(d.Partition)).Scan(&n, &d.MinTime, &d.MaxTime)
	if err != nil {
		return fmt.Errorf("retention: read partition %s of %s: %w", d.Partition, t.Name, err)
	}
	d.Rows = n
	return nil
}

// month is a YYYYMM partition id as the number toYYYYMM returns.
func month(id string) uint32 {
	var m uint32
	for _, c := range id {
		m = m*10 + uint32(c-'0')
	}
	return m
}

// heldBy names the standing holds that keep the partition of d, or "".
// The holds are read afresh for each partition, so a hold set during a run
// is honoured by the partitions not yet dropped.
func (j *Job) heldBy(ctx context.Context, t Table, d Drop) (string, error) {
	holds, err := j.holds.standing(ctx)
	if err != nil {
		return "", err
	}
	var why, subjects []string
	bySubject := map[string][]string{}
	for _, h := range holds {
		switch {
		case h.Kind == HoldPeriod && h.From.Before(d.To) && h.To.After(d.From):
			why = append(why, "period hold "+h.ID)
		case h.Kind == HoldSubject && t.Subject:
			if bySubject[h.SubjectID] == nil {
				subjects = append(subjects, h.SubjectID)
			}
			bySubject[h.SubjectID] = append(bySubject[h.SubjectID], h.ID)
		}
	}
	if len(subjects) == 0 {
		return strings.Join(why, "; "), nil
	}
	rows, err := j.o.Conn.Query(ctx, j.sql["held_"+t.Name], month(d.Partition), subjects)
	if err != nil {
		return "", fmt.Errorf("retention: look for held subjects in partition %s of %s: %w", d.Partition, t.Name, err)
	}
	defer rows.Close()
	for rows.Next() {
		var subject string
		if err := rows.Scan(&subject); err != nil {
			return "", fmt.Errorf("retention: look for held subjects in partition %s of %s: %w", d.Partition, t.Name, err)
		}
		for _, id := range bySubject[subject] {
			why = append(why, "subject hold "+id)
		}
	}
	if err := rows.Err(); err != nil {
		return "", fmt.Errorf("retention: look for held subjects in partition %s of %s: %w", d.Partition, t.Name, err)
	}
	slices.Sort(why)
	return strings.Join(why, "; "), nil
}
