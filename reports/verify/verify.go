// Package verify checks the verdict store (`privaudit verify verdicts`): it
// recomputes the verdict of every access event of a period independently,
// with the in-query engine, and compares it with the verdict stored in
// access_verdicts, naming every event whose stored verdict differs, lacks,
// or has no access event.
//
// Memory does not grow with the period. The events are split into chunks
// by a hash of subject_id (the engine's event_filter hook and the same
// filter on the stored side); each chunk streams both sides ordered by
// event_id and merges them in Go, keeping one row of each at a time. Each
// chunk is one engine query, and each engine query rebuilds the whole
// consent ledger, so chunks are large (DefaultChunkEvents): 10M events are
// checked in five engine queries, while ClickHouse's sort of one chunk
// stays bounded (and spills to disk past its limit).
//
// While records arrive, a verdict being stored or re-evaluated at the
// moment of the check can differ for an instant. So the differences of
// the first pass, when at most MaxRecheck, get a second look after
// RecheckAfter (one more engine query, narrowed to those events), and only
// those that persist are reported.
package verify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/privaudit/privaudit/queries"
)

// DefaultChunkEvents is how many access events one chunk holds at most by
// default.
const DefaultChunkEvents = 2_000_000

// DefaultRecheckAfter is the default wait before the second look.
const DefaultRecheckAfter = 3 * time.Second

// MaxRecheck bounds the differences that get a second look (their
// event_ids are bound into its query); past it every difference of the
// first pass is reported.
const MaxRecheck = 1000

// Kinds of Difference.
const (
	Differs  = "differs"  // stored and recomputed verdicts disagree
	Missing  = "missing"  // an access event without a stored verdict
	Orphaned = "orphaned" // a stored verdict without an access event
)

// Verdict is one side of a comparison: the verdict columns of an event.
type Verdict struct {
	Verdict, ConsentID, Detail string
	MissingCategories          []string
	Disclosure, Violation      uint8
}

func (v Verdict) equal(w Verdict) bool {
	return v.Verdict == w.Verdict && v.ConsentID == w.ConsentID && v.Detail == w.Detail &&
		slices.Equal(v.MissingCategories, w.MissingCategories) && v.Disclosure == w.Disclosure && v.Violation == w.Violation
}

// Difference is one event whose stored verdict is wrong or absent.
type Difference struct {
	EventID string
	Kind    string
	// Stored is the verdict store's row (zero when Missing), at
	// LedgerPosition; Recomputed the engine's (zero when Orphaned).
	Stored, Recomputed Verdict
	LedgerPosition     uint64
}

// Result sums up a check.
type Result struct {
	From, To time.Time
	// Checked counts the access events recomputed; Stored the stored
	// verdicts read.
	Checked, Stored              int64
	Differing, Missing, Orphaned int64
	// MinPosition and MaxPosition are the range of the stored verdicts'
	// ledger positions (0 when none was read).
	MinPosition, MaxPosition uint64
	Chunks                   int
	// Settled counts the first pass's differences gone at the second look.
	Settled  int64
	Duration time.Duration
}

// Clean reports whether every event has its recomputed verdict stored.
func (r Result) Clean() bool { return r.Differing == 0 && r.Missing == 0 && r.Orphaned == 0 }

// Options configure Verdicts.
type Options struct {
	Conn   driver.Conn
	Schema queries.Schema
	// From and To are the period [From, To) of occurred_at.
	From, To time.Time
	// ChunkEvents bounds the access events of one chunk; default
	// DefaultChunkEvents.
	ChunkEvents int64
	// RecheckAfter is the wait before the second look at the first pass's
	// differences; 0: DefaultRecheckAfter; negative: no second look.
	RecheckAfter time.Duration
	// OnDifference, when set, receives every difference reported.
	OnDifference func(Difference)
	// afterFirstPass, in tests, runs between the two looks.
	afterFirstPass func()
	Logger         *slog.Logger
}

// Verdicts recomputes the verdict of every access event of [o.From, o.To)
// and compares it with the verdict store; see the package comment. Its
// log holds counts only, never an event's values.
func Verdicts(ctx context.Context, o Options) (Result, error) {
	res := Result{From: o.From, To: o.To}
	if !o.From.Before(o.To) {
		return res, fmt.Errorf("verify verdicts: from %s must be before to %s (the period is [from, to))",
			o.From.Format(time.RFC3339), o.To.Format(time.RFC3339))
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.ChunkEvents <= 0 {
		o.ChunkEvents = DefaultChunkEvents
	}
	if o.RecheckAfter == 0 {
		o.RecheckAfter = DefaultRecheckAfter
	}
	start := time.Now()
	ctx = clickhouse.Context(ctx, clickhouse.WithSettings(clickhouse.Settings{
		"max_block_size":                 8192,
		"max_bytes_before_external_sort": 512 << 20,
	}))
	n, err := periodEvents(ctx, o)
	if err != nil {
		return res, err
	}
	buckets := max((n+o.ChunkEvents-1)/o.ChunkEvents, 1)
	c := &comparer{o: o, res: &res, holding: o.RecheckAfter > 0}
	for b := int64(0); b < buckets; b++ {
		if err := c.chunk(ctx, buckets, b); err != nil {
			return res, fmt.Errorf("verify verdicts: chunk %d of %d: %w", b+1, buckets, err)
		}
		res.Chunks++
		o.Logger.Info("verify verdicts progress", "chunk", b+1, "chunks", buckets, "checked", res.Checked,
			"differing", res.Differing, "missing", res.Missing, "orphaned", res.Orphaned)
	}
	if err := c.recheck(ctx); err != nil {
		return res, fmt.Errorf("verify verdicts: second look: %w", err)
	}
	res.Duration = time.Since(start)
	return res, nil
}

// periodEvents counts the stored access events of the period (an upper
// bound: without FINAL).
func periodEvents(ctx context.Context, o Options) (int64, error) {
	sql, err := queries.Verdicts("period_events", o.Schema)
	if err != nil {
		return 0, err
	}
	var n uint64
	if err := o.Conn.QueryRow(ctx, sql, periodArgs(o.From, o.To)...).Scan(&n); err != nil {
		return 0, fmt.Errorf("verify verdicts: count the period's events: %w", err)
	}
	return int64(n), nil
}

func periodArgs(from, to time.Time) []any {
	return []any{clickhouse.Named("from_s", from.Unix()), clickhouse.Named("to_s", to.Unix()),
		clickhouse.Named("from_ns", from.UnixNano()), clickhouse.Named("to_ns", to.UnixNano())}
}

// comparer merges the two sides of each chunk into the result.
type comparer struct {
	o   Options
	res *Result
	// holding keeps the differences in held for a second look, until
	// there are more than MaxRecheck.
	holding bool
	held    []Difference
}

// chunk compares the events whose subject hashes to bucket of buckets.
func (c *comparer) chunk(ctx context.Context, buckets, bucket int64) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	args := append(periodArgs(c.o.From, c.o.To), clickhouse.Named("buckets", buckets), clickhouse.Named("bucket", bucket))
	evaluated, err := c.open(ctx, "verify_evaluated", args)
	if err != nil {
		return err
	}
	defer evaluated.Close()
	stored, err := c.open(ctx, "verify_stored", args)
	if err != nil {
		return err
	}
	defer stored.Close()
	return c.merge(&side{rows: evaluated}, &side{rows: stored, stored: true})
}

func (c *comparer) open(ctx context.Context, name string, args []any) (driver.Rows, error) {
	sql, err := queries.Verdicts(name, c.o.Schema)
	if err != nil {
		return nil, err
	}
	rows, err := c.o.Conn.Query(ctx, sql, args...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return rows, nil
}

// side is one ordered stream of a chunk and its current row.
type side struct {
	rows     driver.Rows
	stored   bool
	done     bool
	id       string
	v        Verdict
	position uint64
}

// next reads the following row, or marks the side done.
func (s *side) next() error {
	if !s.rows.Next() {
		s.done = true
		return s.rows.Err()
	}
	dest := []any{&s.id, &s.v.Verdict, &s.v.ConsentID, &s.v.Detail, &s.v.MissingCategories, &s.v.Disclosure, &s.v.Violation}
	if s.stored {
		dest = append(dest, &s.position)
	}
	if err := s.rows.Scan(dest...); err != nil {
		return err
	}
	return nil
}

// merge walks both sides in event_id order; equal ids are compared, an id
// on one side only is missing or orphaned.
func (c *comparer) merge(ev, st *side) error {
	if err := errors.Join(ev.next(), st.next()); err != nil {
		return err
	}
	for !ev.done || !st.done {
		var err error
		switch {
		case st.done || (!ev.done && ev.id < st.id):
			c.res.Checked++
			c.report(Difference{EventID: ev.id, Kind: Missing, Recomputed: ev.v})
			err = ev.next()
		case ev.done || st.id < ev.id:
			c.storedRow(st)
			c.report(Difference{EventID: st.id, Kind: Orphaned, Stored: st.v, LedgerPosition: st.position})
			err = st.next()
		default:
			c.res.Checked++
			c.storedRow(st)
			if !st.v.equal(ev.v) {
				c.report(Difference{EventID: ev.id, Kind: Differs, Stored: st.v, Recomputed: ev.v, LedgerPosition: st.position})
			}
			err = errors.Join(ev.next(), st.next())
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func (c *comparer) storedRow(st *side) {
	r := c.res
	if r.Stored == 0 || st.position < r.MinPosition {
		r.MinPosition = st.position
	}
	r.MaxPosition = max(r.MaxPosition, st.position)
	r.Stored++
}

func (c *comparer) report(d Difference) {
	switch d.Kind {
	case Differs:
		c.res.Differing++
	case Missing:
		c.res.Missing++
	case Orphaned:
		c.res.Orphaned++
	}
	if c.holding {
		c.held = append(c.held, d)
		if len(c.held) <= MaxRecheck {
			return
		}
		c.holding = false
		for _, h := range c.held[:len(c.held)-1] {
			c.emit(h)
		}
		c.held = nil
	}
	c.emit(d)
}

func (c *comparer) emit(d Difference) {
	if c.o.OnDifference != nil {
		c.o.OnDifference(d)
	}
}
