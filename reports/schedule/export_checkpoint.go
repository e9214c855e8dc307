package schedule

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// ExportWebhookTarget is the target label of proof.export_webhook on
// privaudit_checkpoint_export_failures_total; a delivery target's label is
// its name.
const ExportWebhookTarget = "export_webhook"

// exportQueue is how many checkpoints wait per target while one is sent;
// past it a checkpoint is not sent there (a later one covers its records).
const exportQueue = 64

// CheckpointExportOptions configure a CheckpointExporter.
type CheckpointExportOptions struct {
	// Webhook, when set, receives each checkpoint as an HTTP POST of the
	// signed note (text/plain): https, or http to a loopback host.
	Webhook string
	// Deliveries name delivery targets of the schedules' deliver lists
	// (e-mail, webhook) that also receive each checkpoint.
	Deliveries []string
	Schedules  []Config
	// Backoff is the wait before a failed send's second try (default
	// DefaultDeliveryBackoff); it doubles, at most MaxDeliveryBackoff, with
	// jitter. A webhook is tried DefaultMaxAttempts times, a delivery
	// target its max_attempts.
	Backoff    time.Duration
	Registerer prometheus.Registerer
	Logger     *slog.Logger
}

// CheckpointExporter sends each signed checkpoint of the proof log off the
// machine — to a webhook and to delivery targets — in the background, with
// retries: Export never blocks the checkpointer, and a failing target
// never stops checkpoints.
type CheckpointExporter struct {
	o        CheckpointExportOptions
	sinks    []*exportSink
	failures *prometheus.CounterVec
	wg       sync.WaitGroup
}

// exportSink is one destination of checkpoints and its queue.
type exportSink struct {
	label       string
	maxAttempts int
	send        func(ctx context.Context, cp exportedCheckpoint, attempt int) (string, error)
	queue       chan exportedCheckpoint
}

// exportedCheckpoint is one signed checkpoint to send.
type exportedCheckpoint struct {
	size uint64
	note []byte
}

// origin is the checkpoint's origin: the first line of its note.
func (c exportedCheckpoint) origin() string {
	o, _, _ := strings.Cut(string(c.note), "\n")
	return o
}

// CheckCheckpointExport checks proof.export_webhook and
// proof.export_deliveries against the schedules' delivery targets.
func CheckCheckpointExport(webhook string, deliveries []string, schedules []Config) error {
	_, err := exportSinks(CheckpointExportOptions{Webhook: webhook, Deliveries: deliveries, Schedules: schedules})
	return err
}

// NewCheckpointExporter checks o and starts one sender per target, which
// stop when ctx ends (Wait waits for them).
func NewCheckpointExporter(ctx context.Context, o CheckpointExportOptions) (*CheckpointExporter, error) {
	sinks, err := exportSinks(o)
	if err != nil {
		return nil, err
	}
	if o.Backoff <= 0 {
		o.Backoff = DefaultDeliveryBackoff
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	e := &CheckpointExporter{o: o, sinks: sinks, failures: prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "privaudit_checkpoint_export_failures_total",
		Help: "Failed tries to send a proof log checkpoint off the machine, by target (export_webhook or a delivery target's name)."},
		[]string{"target"})}
	if o.Registerer != nil {
		if err := o.Registerer.Register(e.failures); err != nil {
			return nil, fmt.Errorf("checkpoint export metrics: %w", err)
		}
	}
	for _, s := range sinks {
		e.failures.WithLabelValues(s.label)
		e.wg.Go(func() { e.run(ctx, s) })
	}
	return e, nil
}

// Export queues the signed checkpoint note of the given size for every
// target and returns at once.
func (e *CheckpointExporter) Export(_ context.Context, size uint64, note []byte) {
	cp := exportedCheckpoint{size: size, note: slices.Clone(note)}
	for _, s := range e.sinks {
		select {
		case s.queue <- cp:
		default:
			e.failures.WithLabelValues(s.label).Inc()
			e.o.Logger.Error("checkpoint not exported: the target's queue is full (it has been failing); a later checkpoint covers these records",
				"target", s.label, "tree_size", size)
		}
	}
}

// Wait waits for the senders to stop (after the context of
// NewCheckpointExporter ends).
func (e *CheckpointExporter) Wait() { e.wg.Wait() }

// run sends the checkpoints queued for s, in order, until ctx ends.
func (e *CheckpointExporter) run(ctx context.Context, s *exportSink) {
	for {
		select {
		case <-ctx.Done():
			return
		case cp := <-s.queue:
			e.deliver(ctx, s, cp)
		}
	}
}

// deliver tries to send cp to s at most s.maxAttempts times, waiting a
// growing backoff between tries; each failed try is logged and counted.
func (e *CheckpointExporter) deliver(ctx context.Context, s *exportSink, cp exportedCheckpoint) {
	wait := e.o.Backoff
	for attempt := 1; ; attempt++ {
		sctx, cancel := context.WithTimeout(ctx, deliveryTimeout)
		detail, err := s.send(sctx, cp, attempt)
		cancel()
		if err == nil {
			e.o.Logger.Info("checkpoint exported", "target", s.label, "tree_size", cp.size, "attempt", attempt, "detail", detail)
			return
		}
		if ctx.Err() != nil {
			return
		}
		e.failures.WithLabelValues(s.label).Inc()
		var perm *permanentError
		if errors.As(err, &perm) || attempt >= s.maxAttempts {
			e.o.Logger.Error("checkpoint export failed for good; the next checkpoint is sent as usual",
				"target", s.label, "tree_size", cp.size, "attempt", attempt, "err", err)
			return
		}
		e.o.Logger.Warn("checkpoint export failed; retrying", "target", s.label, "tree_size", cp.size, "attempt", attempt, "err", err)
		d := wait/2 + rand.N(wait/2+1)
		var ra *retryAfterError
		if errors.As(err, &ra) && ra.wait > d {
			d = min(ra.wait, MaxDeliveryBackoff)
		}
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		wait = min(2*wait, MaxDeliveryBackoff)
	}
}

// exportSinks checks the webhook and resolves the delivery target names.
func exportSinks(o CheckpointExportOptions) ([]*exportSink, error) {
	var sinks []*exportSink
	var errs []error
	if o.Webhook != "" {
		if err := checkWebhookURL(o.Webhook); err != nil {
			errs = append(errs, fmt.Errorf("proof.export_webhook: %w", err))
		} else {
			sinks = append(sinks, &exportSink{label: ExportWebhookTarget, maxAttempts: DefaultMaxAttempts,
				send: func(ctx context.Context, cp exportedCheckpoint, attempt int) (string, error) {
					return sendCheckpointWebhook(ctx, o.Webhook, nil, "", cp, attempt)
				}})
		}
	}
	known, err := scheduleTargets(o.Schedules)
	if err != nil {
		errs = append(errs, err)
	}
	for i, name := range o.Deliveries {
		t, ok := known[name]
		if !ok {
			errs = append(errs, unknownTarget(name, known))
			continue
		}
		if slices.Contains(o.Deliveries[:i], name) {
			continue
		}
		sinks = append(sinks, &exportSink{label: name, maxAttempts: t.cfg.MaxAttempts,
			send: func(ctx context.Context, cp exportedCheckpoint, attempt int) (string, error) {
				return sendCheckpointTarget(ctx, t, cp, attempt)
			}})
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	for _, s := range sinks {
		s.queue = make(chan exportedCheckpoint, exportQueue)
	}
	return sinks, nil
}

// scheduleTargets is every delivery target of the report schedules, by
// name. A name given to two different targets is refused: which one a
// checkpoint goes to would be a guess.
func scheduleTargets(schedules []Config) (map[string]*target, error) {
	known := map[string]*target{}
	owner := map[string]string{}
	var errs []error
	for _, c := range schedules {
		ts, err := compileTargets(c.Deliver)
		if err != nil {
			continue // the schedule's own check reports it
		}
		for _, t := range ts {
			prev, ok := known[t.cfg.Name]
			if ok && !reflect.DeepEqual(prev.cfg, t.cfg) {
				errs = append(errs, fmt.Errorf("proof.export_deliveries: schedules %s and %s each have a different delivery target named %s; give them distinct names",
					owner[t.cfg.Name], c.Name, t.cfg.Name))
				continue
			}
			known[t.cfg.Name], owner[t.cfg.Name] = t, c.Name
		}
	}
	return known, errors.Join(errs...)
}

// unknownTarget says a delivery target name is unknown and names the
// known ones.
func unknownTarget(name string, known map[string]*target) error {
	if len(known) == 0 {
		return fmt.Errorf("proof.export_deliveries: no delivery target named %q: no schedule has a deliver list; add the target to a schedule's deliver list first", name)
	}
	names := make([]string, 0, len(known))
	for n := range known {
		names = append(names, n)
	}
	slices.Sort(names)
	return fmt.Errorf("proof.export_deliveries: no delivery target named %q; the schedules' targets are %s", name, strings.Join(names, ", "))
}
