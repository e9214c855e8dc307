package ingest

import (
	"bytes"
	"context"
	crand "crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"log/slog"
	"math/rand/v2"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/privaudit/privaudit/audit"
	"github.com/privaudit/privaudit/audit/spool"
	"github.com/privaudit/privaudit/queries"
)

// payload is one spool entry: the records of one accepted request, stamped
// with the ingest sequence of its first record.
type payload struct {
	seq     uint64
	records []byte // audit binary codec
}

func encodePayload(seq uint64, records []byte) []byte {
	b := make([]byte, 8, 8+len(records))
	binary.BigEndian.PutUint64(b, seq)
	return append(b, records...)
}

func decodePayload(b []byte) (payload, error) {
	if len(b) < 8 {
		return payload{}, errors.New("spool entry shorter than its header")
	}
	return payload{seq: binary.BigEndian.Uint64(b), records: b[8:]}, nil
}

// maxEntries bounds the spool entries (requests) per batch.
const maxEntries = 10_000

// WriterOptions configure a Writer.
type WriterOptions struct {
	Kind   audit.Kind
	Spool  *spool.Spool
	Conn   driver.Conn
	Schema queries.Schema
	// BatchRecords is the number of records per INSERT (default 100,000).
	BatchRecords int
	// BlockRows is the number of records per block sent within one INSERT
	// (default 2048): small enough for the driver's column buffers to stay
	// in the CPU cache and be reused from block to block. The driver makes
	// new buffers for each INSERT and grows them through the first block,
	// so smaller blocks also leave less garbage: in privaudit bench, blocks
	// of 2048 rows took about a quarter fewer page faults per event than
	// blocks of 8192. ClickHouse joins the blocks of one INSERT into one
	// part either way.
	BlockRows int
	// Linger is how long a writer waits for a batch to fill (default 1s);
	// it writes sooner once records have stopped arriving (see
	// spool.Spool.NextWait).
	Linger time.Duration
	// Parallel is the number of batches inserted at once (default 3).
	Parallel int
	// MaxBackoff caps the retry delay while ClickHouse fails (default 30s).
	MaxBackoff time.Duration
	Metrics    *Metrics
	Logger     *slog.Logger
	// Instance is part of every batch id (kind-instance-first-last): spool
	// sequences start at 1 in every data directory, so without it two
	// instances writing one database would overwrite each other's batch
	// records. Empty picks a random one.
	Instance string
	// Verdicts, when set, keeps the verdict store current: a batch is
	// acknowledged only once its verdicts (events) or re-evaluations
	// (consents) are stored. The Ingestor shares one between its writers.
	Verdicts *verdictStore
	// Log, when set, is the proof log: each batch's inserted records are
	// appended to it before the batch is acknowledged (see ProofLog).
	Log *ProofLog
}

// NewInstanceID is a random id naming one process in batch ids and the writer lease.
func NewInstanceID() string {
	var b [6]byte
	_, _ = crand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Writer moves one kind's records from its spool into ClickHouse in large
// native batches, storing each record once: keys already stored are skipped,
// and the spool is acknowledged only after the INSERT succeeded.
type Writer struct {
	o       WriterOptions
	newRows func() rows
	// bufs are the column buffers of the Parallel batches, kept from batch
	// to batch so their memory is reused.
	bufs                   []rows
	claims                 claims
	insertSQL, existingSQL string
	recordSQL, loadSQL     string
	countSQL               string
	// filter holds the hashes of every key stored or in flight; nil until
	// loadFilter succeeded.
	filterMu sync.Mutex
	filter   *keyFilter
	// replayTo is the last spool entry read, or there to be read, when
	// this writer last started or failed: entries up to it may have been
	// inserted without their leaves (sealReplayed).
	replayTo atomic.Uint64
}

// NewWriter prepares a Writer; Run starts it.
func NewWriter(o WriterOptions) (*Writer, error) {
	if o.BatchRecords <= 0 {
		o.BatchRecords = 100_000
	}
	if o.BlockRows <= 0 {
		o.BlockRows = 2048
	}
	if o.Linger <= 0 {
		o.Linger = time.Second
	}
	if o.Parallel <= 0 {
		o.Parallel = 3
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = 30 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Instance == "" {
		o.Instance = NewInstanceID()
	}
	o.Logger = o.Logger.With("writer", string(o.Kind))
	w := &Writer{o: o}
	ins, exist, load, count := "insert_events", "existing_events", "stored_event_keys", "count_event_keys"
	switch o.Kind {
	case audit.KindEvents:
		w.newRows = func() rows { return &eventRows{} }
	case audit.KindConsents:
		w.newRows = func() rows { return &consentRows{} }
		ins, exist, load, count = "insert_consents", "existing_consents", "stored_consent_keys", "count_consent_keys"
	default:
		return nil, fmt.Errorf("writer: unknown kind %q", o.Kind)
	}
	for range o.Parallel {
		w.bufs = append(w.bufs, w.newRows())
	}
	var err error
	for _, q := range []struct {
		dst  *string
		name string
	}{{&w.insertSQL, ins}, {&w.existingSQL, exist}, {&w.recordSQL, "record_batch"}, {&w.loadSQL, load}, {&w.countSQL, count}} {
		if *q.dst, err = queries.Ingest(q.name, o.Schema); err != nil {
			return nil, err
		}
	}
	return w, nil
}

// Run writes until ctx is cancelled. Records still in the spool then stay
// there for the next start; Run never drops one. Up to Parallel batches are
// inserted at once and acknowledged in spool order; after a failure the
// spool is rewound to the last acknowledged entry and retried with backoff
// (batches that did succeed meanwhile are then skipped by their keys).
func (w *Writer) Run(ctx context.Context) error {
	backoff := 100 * time.Millisecond
	for {
		progressed, err := w.pump(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if errors.Is(err, spool.ErrClosed) {
			return nil
		}
		var fatal fatalError
		if errors.As(err, &fatal) {
			return fmt.Errorf("writer %s: %w", w.o.Kind, err)
		}
		w.o.Spool.Rewind()
		if progressed {
			backoff = 100 * time.Millisecond
		}
		w.o.Metrics.writeErrors.WithLabelValues(string(w.o.Kind)).Inc()
		delay := backoff/2 + rand.N(backoff/2+1)
		w.o.Logger.Warn("insert failed; records stay in the spool and will be retried", "err", err, "retry_in", delay.Round(time.Millisecond))
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(delay):
		}
		backoff = min(backoff*2, w.o.MaxBackoff)
	}
}

// fatalError stops the writer instead of being retried.
type fatalError struct{ error }

type job struct {
	last uint64
	done chan error
}

// pump reads batches from the spool and writes up to Parallel at once until
// one fails or ctx ends; an acker acknowledges finished batches in order.
// It reports whether any batch was acknowledged.
func (w *Writer) pump(ctx context.Context) (bool, error) {
	w.replayTo.Store(w.o.Spool.Stats().LastSeq)
	if err := w.loadFilter(ctx); err != nil {
		return false, err
	}
	if err := w.readyLog(ctx); err != nil {
		return false, err
	}
	readCtx, stopReading := context.WithCancel(ctx)
	defer stopReading()
	pool := make(chan rows, w.o.Parallel)
	for _, buf := range w.bufs {
		pool <- buf
	}
	queue := make(chan *job, w.o.Parallel)
	acked := make(chan ackResult, 1)
	go w.acker(queue, stopReading, acked)
	var readErr error
	for {
		var buf rows
		select {
		case buf = <-pool:
		case <-readCtx.Done():
		}
		if buf == nil {
			break
		}
		ents, err := w.o.Spool.NextWait(readCtx, maxEntries, w.o.BatchRecords, w.o.Linger)
		if err != nil {
			readErr = err
			break
		}
		j := &job{last: ents[len(ents)-1].Seq, done: make(chan error, 1)}
		queue <- j
		go func() {
			err := w.write(ctx, ents, buf) // releases ents
			j.done <- err
			pool <- buf
		}()
	}
	close(queue)
	res := <-acked
	if res.err != nil {
		return res.progressed, res.err
	}
	if readErr != nil && readCtx.Err() == nil {
		return res.progressed, fmt.Errorf("read spool: %w", readErr)
	}
	return res.progressed, ctx.Err()
}

type ackResult struct {
	progressed bool
	err        error
}

// acker waits for each job in order and acknowledges it; after the first
// failure it stops reading and acknowledges nothing more.
func (w *Writer) acker(queue <-chan *job, stopReading context.CancelFunc, out chan<- ackResult) {
	var res ackResult
	for j := range queue {
		err := <-j.done
		if res.err != nil {
			continue
		}
		if err == nil {
			if err = w.o.Spool.Ack(j.last); err != nil {
				err = fatalError{fmt.Errorf("ack spool: %w", err)}
			}
		}
		if err != nil {
			res.err = err
			stopReading()
			continue
		}
		res.progressed = true
	}
	out <- res
}

// Drain writes everything currently in the spool, then returns. It is used
// at shutdown with a fresh, bounded context, only after Run has returned.
func (w *Writer) Drain(ctx context.Context) error {
	w.o.Spool.Rewind() // entries read by an interrupted Run were not acknowledged
	w.replayTo.Store(w.o.Spool.Stats().LastSeq)
	if err := w.loadFilter(ctx); err != nil {
		return err
	}
	if err := w.readyLog(ctx); err != nil {
		return err
	}
	buf := w.bufs[0] // Run has returned: no batch is using it
	for w.o.Spool.Stats().PendingEntries > 0 {
		ents, err := w.o.Spool.Next(ctx, maxEntries, w.o.BatchRecords)
		if err != nil {
			return err
		}
		err = w.write(ctx, ents, buf) // releases ents
		if err != nil {
			w.o.Spool.Rewind()
			return err
		}
		if err := w.o.Spool.Ack(ents[len(ents)-1].Seq); err != nil {
			return err
		}
	}
	return nil
}

// write inserts the records of ents, which it hands back to the spool
// (Release) as soon as they are copied into buf, so a batch in flight holds
// its records once, not twice.
func (w *Writer) write(ctx context.Context, ents []spool.Entry, buf rows) error {
	start := time.Now()
	h := sha256.New()
	err := w.decode(ents, buf, h)
	w.o.Spool.Release(ents)
	if err != nil {
		return err
	}
	received := buf.len()
	tDecoded := time.Since(start)
	keep, found, release, err := w.newKeys(ctx, buf.keys())
	defer release()
	if err != nil {
		return err
	}
	if err := w.sealReplayed(ctx, ents, buf, found); err != nil {
		return err
	}
	tKeys := time.Since(start)
	skipped, touches := w.beforeInsert(buf, keep)
	if err := w.noteConsents(ctx, touches); err != nil {
		return err
	}
	batchID := string(w.o.Kind) + "-" + w.o.Instance + "-" + strconv.FormatUint(ents[0].Seq, 10) + "-" + strconv.FormatUint(ents[len(ents)-1].Seq, 10)
	if slices.Contains(keep, false) {
		buf.keepOnly(keep)
	}
	inserted, err := w.insertLogged(ctx, buf, batchID)
	if err != nil {
		return err
	}
	if err := w.maintainVerdicts(ctx, buf, skipped, touches); err != nil {
		return err
	}
	dups := received - inserted
	if err := w.o.Conn.Exec(ctx, w.recordSQL+" SELECT ?, ?, ?, ?, ?, ?, now()", batchID, string(w.o.Kind),
		uint64(received), uint64(inserted), uint64(dups), hex.EncodeToString(h.Sum(nil))); err != nil {
		// The records are stored; losing the bookkeeping row is logged, not retried.
		w.o.Logger.Warn("record batch", "batch", batchID, "err", err)
	}
	w.o.Metrics.observeBatch(w.o.Kind, inserted, dups, time.Since(start))
	w.o.Logger.Debug("batch written", "batch", batchID, "records", received, "inserted", inserted, "duplicates", dups, "took", time.Since(start), "decode", tDecoded, "keys", tKeys-tDecoded)
	return nil
}

// sealReplayed gives a leaf to each record of found (keys of ents found
// already stored) that has none, when ents may be a replay: entries read
// before a failure or a start (replayTo) may have been inserted without
// their leaves appended. Once those are acknowledged, a batch read later
// is new, and its stored keys are resends of records sealed by their own
// batch. A stored record is sealed only when it is the one replayed (see
// sealStored).
func (w *Writer) sealReplayed(ctx context.Context, ents []spool.Entry, buf rows, found []string) error {
	if w.o.Log == nil || len(found) == 0 {
		return nil
	}
	// A later batch checks too while replays are in flight: it may hold
	// the claim on a key a replayed batch then skips.
	if to := w.replayTo.Load(); ents[0].Seq > to && w.o.Spool.Stats().AckedSeq >= to {
		return nil
	}
	buf.prepare("") // the stamps leafAt reads; insert prepares buf again
	copies := make(map[string][]int, len(found))
	for _, k := range found {
		copies[k] = nil
	}
	for i, k := range buf.keys() {
		if c, ok := copies[k]; ok {
			copies[k] = append(c, i)
		}
	}
	// A key's copies are the record and a client's resends of it, each
	// accepted at its own ingest_seq: the stored row is the one replayed
	// when one copy, stamped as the row is, gives its leaf.
	replayed := func(key string, seq uint64, batchID string, leaf []byte) bool {
		for _, i := range copies[key] {
			if h := buf.leafAt(i, seq, batchID); bytes.Equal(h[:], leaf) {
				return true
			}
		}
		return false
	}
	_, err := w.o.Log.sealStored(ctx, w.o.Kind, found, replayed)
	return err
}

// decode copies the records of ents into buf, hashing the payloads into h.
func (w *Writer) decode(ents []spool.Entry, buf rows, h hash.Hash) error {
	buf.reset()
	records := 0
	for _, e := range ents {
		records += e.Count
	}
	for i, e := range ents {
		p, err := decodePayload(e.Payload)
		if err != nil {
			return fmt.Errorf("spool entry %d: %w", e.Seq, err)
		}
		h.Write(e.Payload)
		if err := buf.add(p); err != nil {
			return fmt.Errorf("spool entry %d: %w", e.Seq, err)
		}
		if i == 0 {
			buf.reserve(records)
		}
	}
	return nil
}

func (w *Writer) insert(ctx context.Context, buf rows, batchID string) (int, error) {
	n := buf.len()
	if n == 0 {
		return 0, nil
	}
	// Without ClickHouse's insert deduplication: a replicated table drops a
	// block it already holds and then skips the materialized views that fill
	// the key table, so a retry of an insert whose records were committed
	// but whose keys were not would leave those keys missing for good. The
	// writer's own key lookup is the deduplication; a retry that stores a
	// record twice stores it identically, and the rows collapse on merge.
	ctx = clickhouse.Context(ctx, clickhouse.WithSettings(clickhouse.Settings{"insert_deduplicate": 0}))
	b, err := w.o.Conn.PrepareBatch(ctx, w.insertSQL)
	if err != nil {
		return 0, fmt.Errorf("prepare insert: %w", err)
	}
	defer b.Close()
	buf.prepare(batchID)
	for lo := 0; lo < n; lo += w.o.BlockRows {
		hi := min(lo+w.o.BlockRows, n)
		if err := buf.appendTo(b, lo, hi); err != nil {
			return 0, err
		}
		if hi < n {
			if err := b.Flush(); err != nil {
				return 0, fmt.Errorf("insert %d %s: %w", n, w.o.Kind, err)
			}
		}
	}
	if err := b.Send(); err != nil {
		return 0, fmt.Errorf("insert %d %s: %w", n, w.o.Kind, err)
	}
	return n, nil
}
