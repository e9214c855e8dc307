// Package ingest is privaudit's intake: the HTTP handlers for POST /v1/events
// and /v1/consents, which validate a request and make it durable in a local
// spool before acknowledging it, and the writers that move spooled records
// into ClickHouse in large batches, storing each record once.
package ingest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"path/filepath"
	"sync"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/privaudit/privaudit/audit"
	"github.com/privaudit/privaudit/audit/spool"
	"github.com/privaudit/privaudit/queries"
)

// Options configure an Ingestor.
type Options struct {
	// SpoolDir holds one spool per record kind.
	SpoolDir string
	// SpoolMaxBytes is each spool's limit; past it requests get 503.
	SpoolMaxBytes int64
	// NoSync skips fsync (tests and benchmarks of the non-durable path only).
	NoSync       bool
	MaxBodyBytes int64 // per request on the wire, default 64 MiB
	// MaxDecompressedBytes limits a gzip request's decompressed body;
	// default four times MaxBodyBytes.
	MaxDecompressedBytes int64
	// MaxInFlightBytes limits the request bodies held in memory at once,
	// across requests; past it requests get 503. Default 512 MiB, and at
	// least MaxBodyBytes+MaxDecompressedBytes, so that any one request fits.
	MaxInFlightBytes int64
	MaxRecords       int // per request, default 0 (only the body limit)
	RetryAfter       time.Duration
	BatchRecords     int
	Linger           time.Duration
	Conn             driver.Conn
	Schema           queries.Schema
	Registerer       prometheus.Registerer
	Logger           *slog.Logger
	// Now is the clock for the future-timestamp rule; nil is time.Now.
	Now func() time.Time
	// Instance names this process in batch ids; empty picks a random one,
	// so two instances writing one database never share a batch id.
	Instance string
	// NoProof switches the proof log off (config proof.enabled: false):
	// records are stored without leaves.
	NoProof bool
}

// Ingestor owns the spools and writers of both record kinds.
type Ingestor struct {
	o        Options
	log      *slog.Logger
	now      func() time.Time
	spools   map[audit.Kind]*spool.Spool
	writers  map[audit.Kind]*Writer
	metrics  *Metrics
	flow     *flow
	seq      sequencer
	inFlight inFlight
	proof    *ProofLog
	cancel   context.CancelFunc
	wg       sync.WaitGroup
}

// Open opens (and replays) the spools; Start runs the writers.
func Open(ctx context.Context, o Options) (*Ingestor, error) {
	if o.MaxBodyBytes <= 0 {
		o.MaxBodyBytes = 64 << 20
	}
	if o.MaxDecompressedBytes <= 0 {
		o.MaxDecompressedBytes = 4 * o.MaxBodyBytes
	}
	if o.MaxInFlightBytes <= 0 {
		o.MaxInFlightBytes = max(512<<20, o.MaxBodyBytes+o.MaxDecompressedBytes)
	}
	if o.MaxInFlightBytes < o.MaxBodyBytes+o.MaxDecompressedBytes {
		return nil, fmt.Errorf("ingest: max in-flight bytes %d is less than max body plus max decompressed bytes (%d): no gzip request of the limits' size could be taken",
			o.MaxInFlightBytes, o.MaxBodyBytes+o.MaxDecompressedBytes)
	}
	if o.SpoolMaxBytes <= 0 {
		o.SpoolMaxBytes = 2 << 30
	}
	if o.RetryAfter <= 0 {
		o.RetryAfter = 5 * time.Second
	}
	in := &Ingestor{o: o, log: logger(o.Logger), now: o.Now, spools: map[audit.Kind]*spool.Spool{},
		writers: map[audit.Kind]*Writer{}, metrics: NewMetrics(o.Registerer)}
	if in.now == nil {
		in.now = time.Now
	}
	in.flow = newFlow(in.now())
	in.inFlight.limit = o.MaxInFlightBytes
	if o.Instance == "" {
		o.Instance = NewInstanceID()
	}
	verdicts, err := newVerdictStore(o.Conn, o.Schema, in.metrics, in.log.With("component", "verdicts"))
	if err != nil {
		return nil, err
	}
	if !o.NoProof {
		if in.proof, err = NewProofLog(o.Conn, o.Schema, in.log.With("component", "proof")); err != nil {
			return nil, err
		}
		if o.Registerer != nil {
			o.Registerer.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "privaudit_log_size",
				Help: "Leaves in the proof log (stored records sealed), as this process knows it."},
				func() float64 { n, _, _ := in.proof.State(); return float64(n) }))
		}
	}
	for _, k := range []audit.Kind{audit.KindEvents, audit.KindConsents} {
		sp, err := spool.Open(ctx, spool.Options{Dir: filepath.Join(o.SpoolDir, string(k)), MaxBytes: o.SpoolMaxBytes,
			NoSync: o.NoSync, Logger: in.log.With("spool", string(k))})
		if err != nil {
			in.closeSpools()
			return nil, fmt.Errorf("open %s spool: %w", k, err)
		}
		in.spools[k] = sp
		w, err := NewWriter(WriterOptions{Kind: k, Spool: sp, Conn: o.Conn, Schema: o.Schema, BatchRecords: o.BatchRecords,
			Linger: o.Linger, Metrics: in.metrics, Logger: in.log, Instance: o.Instance, Verdicts: verdicts, Log: in.proof})
		if err != nil {
			in.closeSpools()
			return nil, err
		}
		in.writers[k] = w
		if o.Registerer != nil {
			o.Registerer.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "privaudit_spool_pending_records",
				Help: "Records acknowledged to clients but not yet stored in ClickHouse.", ConstLabels: prometheus.Labels{"kind": string(k)}},
				func() float64 { return float64(sp.Stats().PendingRecords) }))
			o.Registerer.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "privaudit_spool_pending_bytes",
				Help: "Bytes in the spool not yet stored in ClickHouse.", ConstLabels: prometheus.Labels{"kind": string(k)}},
				func() float64 { return float64(sp.Stats().PendingBytes) }))
		}
	}
	return in, nil
}

// ProofLog is the proof log the writers append to; nil when switched off.
func (in *Ingestor) ProofLog() *ProofLog { return in.proof }

// Start runs the writers in the background until Close.
func (in *Ingestor) Start() {
	ctx, cancel := context.WithCancel(context.Background())
	in.cancel = cancel
	for k, w := range in.writers {
		in.wg.Add(1)
		go func() {
			defer in.wg.Done()
			if err := w.Run(ctx); err != nil {
				in.log.Error("writer stopped", "kind", k, "err", err)
			}
		}()
	}
}

// Routes registers POST /v1/events and POST /v1/consents on mux, each wrapped
// by wrap (authentication).
func (in *Ingestor) Routes(mux *http.ServeMux, wrap func(http.Handler) http.Handler) {
	mux.Handle("POST /v1/events", wrap(in.handle(audit.KindEvents)))
	mux.Handle("POST /v1/consents", wrap(in.handle(audit.KindConsents)))
}

// Pending is the number of records acknowledged but not yet stored.
func (in *Ingestor) Pending() int64 {
	var n int64
	for _, sp := range in.spools {
		n += sp.Stats().PendingRecords
	}
	return n
}

// WaitStored blocks until every record acknowledged so far is in ClickHouse
// (or ctx ends). For the demo, tests and benchmarks.
func (in *Ingestor) WaitStored(ctx context.Context) error {
	for in.Pending() > 0 {
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for %d records to reach ClickHouse: %w", in.Pending(), ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
	return nil
}

// WaitVerdicts blocks until every record acknowledged before it was called
// is stored with its verdict: events evaluated, and the verdicts consents
// can change re-evaluated (a batch is acknowledged in the spool only then).
// It returns the time of the call: the stored verdicts then reflect every
// consent event accepted before it. Reports call it before they read the
// verdict store.
func (in *Ingestor) WaitVerdicts(ctx context.Context) (time.Time, error) {
	at := time.Now().UTC()
	target := map[audit.Kind]uint64{}
	for k, sp := range in.spools {
		target[k] = sp.Stats().LastSeq
	}
	for {
		var behind int64
		for k, sp := range in.spools {
			if st := sp.Stats(); st.PendingEntries > 0 && st.AckedSeq < target[k] {
				behind += st.PendingRecords
			}
		}
		if behind == 0 {
			return at, nil
		}
		select {
		case <-ctx.Done():
			return at, fmt.Errorf("wait for %d acknowledged records to be stored with their verdicts (is ClickHouse up? see /readyz and privaudit_spool_pending_records): %w", behind, ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// Close stops the writers, then flushes what it can within ctx (a fresh
// context from the caller, not the one cancelled by the shutdown signal);
// anything left stays in the spool for the next start.
func (in *Ingestor) Close(ctx context.Context) error {
	if in.cancel != nil {
		in.cancel()
	}
	in.wg.Wait()
	var errs []error
	for k, w := range in.writers {
		if err := w.Drain(ctx); err != nil {
			in.log.Warn("shutdown flush incomplete; records stay in the spool", "kind", k, "pending", in.spools[k].Stats().PendingRecords, "err", err)
		}
	}
	errs = append(errs, in.closeSpools())
	return errors.Join(errs...)
}

func (in *Ingestor) closeSpools() error {
	var errs []error
	for _, sp := range in.spools {
		errs = append(errs, sp.Close())
	}
	return errors.Join(errs...)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// Record durably spools events that privaudit itself produces — e.g. that
// an officer ran a report or a query — through the same path as ingested
// ones, so the auditors are audited too. The events are validated first.
func (in *Ingestor) Record(ctx context.Context, evs ...audit.Event) error {
	if len(evs) == 0 {
		return nil
	}
	if err := audit.ValidateEvents(evs, in.now()); err != nil {
		return fmt.Errorf("record audit event: %w", err)
	}
	enc := audit.EncodeEvents(nil, evs)
	if _, err := in.spools[audit.KindEvents].Append(ctx, encodePayload(in.seq.next(len(evs)), enc), len(evs)); err != nil {
		return fmt.Errorf("record audit event: %w", in.spoolError(err))
	}
	in.accepted(audit.KindEvents, len(evs), 0)
	return nil
}
