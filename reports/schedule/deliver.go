package schedule

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/url"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Outcomes of one delivery try, as recorded in report_deliveries.
const (
	DeliveryPending   = "pending"   // queued: the run is recorded, no try has ended yet
	DeliveryDelivered = "delivered" // the server accepted it
	DeliveryRetry     = "retry"     // failed; tried again after a backoff
	DeliveryFailed    = "failed"    // failed for good: a permanent error, or the last attempt
	DeliveryAbandoned = "abandoned" // privaudit stopped before the next try; resumed at its next start
)

// DefaultDeliveryBackoff is the wait before a delivery's second try; each
// further wait doubles, at most MaxDeliveryBackoff, with jitter.
const DefaultDeliveryBackoff = 30 * time.Second

// MaxDeliveryBackoff bounds the wait between two tries of a delivery.
const MaxDeliveryBackoff = 15 * time.Minute

// deliveryTimeout bounds one try (connecting, sending, the answer).
const deliveryTimeout = 2 * time.Minute

// DeliveryAttempt is one try of a delivery target.
type DeliveryAttempt struct {
	Attempt    int       `json:"attempt"`
	StartedAt  time.Time `json:"started_at"`
	FinishedAt time.Time `json:"finished_at,omitzero"`
	Outcome    string    `json:"outcome"`
	Detail     string    `json:"detail,omitempty"`
	Error      string    `json:"error,omitempty"`
}

// Delivery is the delivery of a successful run to one target.
type Delivery struct {
	Target string `json:"target"`
	Type   string `json:"type"`
	// Status is the outcome of the last try: pending, retry (waiting for
	// the next try), delivered, failed or abandoned.
	Status   string            `json:"status"`
	Attempts []DeliveryAttempt `json:"attempts"`
}

// deliveryRow is one row of report_deliveries.
type deliveryRow struct {
	run             Run
	target          *target
	attempt         int
	started, ended  time.Time
	outcome, detail string
	err             string
	version         uint64
}

// permanentError is a delivery failure a retry cannot fix (a refused
// recipient, a rejected signature, a wrong certificate).
type permanentError struct{ err error }

func (p *permanentError) Error() string { return p.err.Error() }
func (p *permanentError) Unwrap() error { return p.err }

func permanent(err error) error { return &permanentError{err: err} }

// retryAfterError is a transient failure whose server asked for a wait.
type retryAfterError struct {
	err  error
	wait time.Duration
}

func (r *retryAfterError) Error() string { return r.err.Error() }
func (r *retryAfterError) Unwrap() error { return r.err }

// deliveryMetrics counts delivery tries.
func deliveryMetrics(reg prometheus.Registerer) (*prometheus.CounterVec, error) {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "privaudit_delivery_attempts_total",
		Help: "Tries to deliver scheduled runs, by target type and outcome (delivered, retry, failed)."},
		[]string{"target_type", "outcome"})
	if reg == nil {
		return c, nil
	}
	if err := reg.Register(c); err != nil {
		return nil, err
	}
	return c, nil
}

// markPending records r's delivery to each of j's targets as pending. It
// runs before r's success is recorded, so a crash between the two leaves
// the delivery for the next start to resume (or, if the success was not
// recorded, to close).
func (s *Scheduler) markPending(j *job, r Run) {
	s.queuedMu.Lock()
	s.queued[r.ID] = true
	s.queuedMu.Unlock()
	for _, t := range j.targets {
		now := s.now()
		s.recordDelivery(deliveryRow{run: r, target: t, started: now, ended: now, outcome: DeliveryPending})
	}
}

// queueDelivery delivers r to its targets in the background. from gives,
// for resumed targets, the attempt to start at; nil delivers to every
// target of j from attempt 1 (markPending has recorded them). A run queued
// while privaudit stops stays pending and is resumed at the next start.
func (s *Scheduler) queueDelivery(j *job, r Run, from map[string]int) {
	var ts []*target
	for _, t := range j.targets {
		if from == nil || from[t.cfg.Name] > 0 {
			ts = append(ts, t)
		}
	}
	if len(ts) == 0 {
		return
	}
	if !s.begin() {
		s.log.Warn("scheduled run: delivery left pending, privaudit is stopping; it is resumed at the next start",
			"schedule", r.Schedule, "run_id", r.ID)
		return
	}
	go func() {
		defer s.wg.Done()
		var wg sync.WaitGroup
		for _, t := range ts {
			first := 1
			if from != nil {
				first = from[t.cfg.Name]
			}
			wg.Go(func() { s.deliverTarget(t, r, first) })
		}
		wg.Wait()
	}()
}

// deliverTarget tries to deliver r to t, from attempt first, at most
// t's max_attempts times, waiting a growing backoff between tries.
func (s *Scheduler) deliverTarget(t *target, r Run, first int) {
	last := first + t.cfg.MaxAttempts - 1
	for n := first; ; n++ {
		row := deliveryRow{run: r, target: t, attempt: n, started: s.now()}
		ctx, cancel := context.WithTimeout(s.ctx, deliveryTimeout)
		detail, err := s.send(ctx, t, r, n)
		cancel()
		row.ended, row.detail = s.now(), detail
		var perm *permanentError
		switch {
		case err == nil:
			row.outcome = DeliveryDelivered
		case errors.As(err, &perm) || n >= last:
			row.outcome, row.err = DeliveryFailed, err.Error()
		default:
			row.outcome, row.err = DeliveryRetry, err.Error()
		}
		s.recordDelivery(row)
		s.deliveries.WithLabelValues(t.cfg.Type, row.outcome).Inc()
		s.logDelivery(row)
		if row.outcome != DeliveryRetry {
			return
		}
		wait := s.deliveryWait(n-first+1, err)
		if !s.o.deliverySleep(s.ctx, wait) {
			row.outcome, row.version = DeliveryAbandoned, 1
			s.recordDelivery(row)
			s.log.Warn("delivery abandoned: privaudit is stopping; it is resumed at the next start",
				"schedule", r.Schedule, "run_id", r.ID, "target", t.cfg.Name, "attempt", n)
			return
		}
	}
}

// deliveryWait is the wait after the k-th failed try: the backoff doubled
// k-1 times, capped, drawn from its upper half (jitter: deliveries failing
// together do not retry together), and at least what the server asked.
func (s *Scheduler) deliveryWait(k int, err error) time.Duration {
	d := s.o.DeliveryBackoff
	for i := 1; i < k && d < MaxDeliveryBackoff; i++ {
		d *= 2
	}
	d = min(d, MaxDeliveryBackoff)
	d = d/2 + rand.N(d/2+1)
	var ra *retryAfterError
	if errors.As(err, &ra) && ra.wait > d {
		d = min(ra.wait, MaxDeliveryBackoff)
	}
	return d
}

// send makes one try of delivering r to t.
func (s *Scheduler) send(ctx context.Context, t *target, r Run, attempt int) (string, error) {
	if t.cfg.Type == TargetWebhook {
		return s.sendWebhook(ctx, t, r, attempt)
	}
	return s.sendEmail(ctx, t, r)
}

// CheckPublicURL checks a public URL: empty, or an absolute http(s) URL
// without query or fragment.
func CheckPublicURL(u string) error {
	if u == "" {
		return nil
	}
	p, err := url.Parse(u)
	if err != nil || p.Host == "" || (p.Scheme != "https" && p.Scheme != "http") || p.RawQuery != "" || p.Fragment != "" {
		return fmt.Errorf("public_url %q: want the absolute address officers reach privaudit at, e.g. https://privaudit.bank.example", u)
	}
	return nil
}

// fileURL is the download address of a run's file under the public URL,
// or "" without one.
func (s *Scheduler) fileURL(r Run, name string) string {
	if s.o.PublicURL == "" {
		return ""
	}
	u, err := url.JoinPath(s.o.PublicURL, "v1", "runs", r.ID, "files", name)
	if err != nil {
		return ""
	}
	return u
}

// recordDelivery writes one delivery row; a row ClickHouse does not take
// is logged (the delivery goes on).
func (s *Scheduler) recordDelivery(row deliveryRow) {
	ctx, cancel := context.WithTimeout(context.Background(), s.o.recordTimeout)
	defer cancel()
	if err := s.st.recordDelivery(ctx, row, s.o.Instance); err != nil {
		s.log.Error("delivery not recorded", "schedule", row.run.Schedule, "run_id", row.run.ID,
			"target", row.target.cfg.Name, "attempt", row.attempt, "outcome", row.outcome, "err", err)
	}
}

func (s *Scheduler) logDelivery(row deliveryRow) {
	attrs := []any{"schedule", row.run.Schedule, "run_id", row.run.ID, "target", row.target.cfg.Name,
		"type", row.target.cfg.Type, "attempt", row.attempt, "outcome", row.outcome}
	switch row.outcome {
	case DeliveryDelivered:
		s.log.Info("scheduled run delivered", append(attrs, "detail", row.detail)...)
	case DeliveryRetry:
		s.log.Warn("scheduled run delivery failed; retrying", append(attrs, "err", row.err)...)
	default:
		s.log.Error("scheduled run delivery failed for good; the run itself stays succeeded", append(attrs, "err", row.err)...)
	}
}

// resumeDeliveries runs at Start: the delivery targets this instance left
// unfinished (privaudit stopped or crashed before their last try) are
// delivered again, from their next attempt: delivery is at-least-once.
func (s *Scheduler) resumeDeliveries(j *job) {
	ctx := s.ctx
	left, err := s.st.unfinishedDeliveries(ctx, j.cfg.Name, s.o.Instance)
	if err != nil {
		s.log.Error("schedule recovery: cannot read unfinished deliveries; they stay pending", "schedule", j.cfg.Name, "err", err)
		return
	}
	for id, targets := range left {
		s.queuedMu.Lock()
		mine := s.queued[id]
		s.queuedMu.Unlock()
		if mine {
			continue // queued by this process: in progress, not left over
		}
		runs, err := s.st.runs(ctx, RunFilter{RunID: id, Limit: 1000})
		if err != nil {
			s.log.Error("schedule recovery: cannot read a run to deliver", "schedule", j.cfg.Name, "run_id", id, "err", err)
			continue
		}
		i := -1
		for k, r := range runs {
			if r.Status == StatusSuccess {
				i = k
			}
		}
		if i < 0 {
			s.closeUnsucceeded(j, id, targets)
			continue
		}
		from := map[string]int{}
		for name, lastAttempt := range targets {
			if !j.hasTarget(name) {
				s.recordDelivery(deliveryRow{run: runs[i], target: &target{cfg: Target{Name: name}}, attempt: lastAttempt + 1,
					started: s.now(), ended: s.now(), outcome: DeliveryFailed,
					err: "not resumed: the schedule no longer has this delivery target"})
				continue
			}
			from[name] = lastAttempt + 1
		}
		s.log.Info("schedule recovery: resuming the delivery of a run", "schedule", j.cfg.Name, "run_id", id, "targets", len(from))
		s.queueDelivery(j, runs[i], from)
	}
}

// closeUnsucceeded records as failed the deliveries of run id, whose
// success privaudit did not record before it stopped: the run was marked
// failed and its fire runs again under a new run id, delivered as its own.
func (s *Scheduler) closeUnsucceeded(j *job, id string, targets map[string]int) {
	r := Run{ID: id, Schedule: j.cfg.Name}
	for name, lastAttempt := range targets {
		s.recordDelivery(deliveryRow{run: r, target: &target{cfg: Target{Name: name}}, attempt: lastAttempt + 1,
			started: s.now(), ended: s.now(), outcome: DeliveryFailed,
			err: "not delivered: privaudit stopped before it recorded the run's success; the run is not delivered"})
	}
}

func (j *job) hasTarget(name string) bool {
	for _, t := range j.targets {
		if t.cfg.Name == name {
			return true
		}
	}
	return false
}
