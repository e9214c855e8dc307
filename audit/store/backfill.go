package store

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/privaudit/privaudit/queries"
)

// DefaultBackfillChunkEvents is how many access events one backfill
// statement evaluates at most by default. Each statement rebuilds the whole
// consent ledger, so chunks are large: 10M events take five statements,
// while the per-chunk join of the events' stored columns stays a few
// hundred MB.
const DefaultBackfillChunkEvents = 2_000_000

// BackfillOptions configure BackfillVerdicts.
type BackfillOptions struct {
	Conn   driver.Conn
	Schema queries.Schema
	// ChunkEvents bounds the access events of one statement; default
	// DefaultBackfillChunkEvents.
	ChunkEvents int64
	Logger      *slog.Logger
}

// BackfillVerdicts fills the verdict store of a deployment upgrading to it:
// when access_verdicts holds no row but access_events does, every stored
// access event gets the in-query engine's verdict (queries/verdicts/
// backfill.sql) at ledger position 0, in chunks of events by subject hash.
// Otherwise it does nothing. It runs before the writers start. A backfill
// interrupted midway is not resumed (the store is no longer empty):
// `privaudit verify verdicts` names the events left without a verdict, and
// emptying access_verdicts before the next start redoes it.
func BackfillVerdicts(ctx context.Context, o BackfillOptions) error {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.ChunkEvents <= 0 {
		o.ChunkEvents = DefaultBackfillChunkEvents
	}
	stored, err := verdictsStored(ctx, o)
	if err != nil || stored {
		return err
	}
	span, err := queries.Verdicts("events_span", o.Schema)
	if err != nil {
		return err
	}
	var n uint64
	var minNS, maxNS int64
	if err := o.Conn.QueryRow(ctx, span).Scan(&n, &minNS, &maxNS); err != nil {
		return fmt.Errorf("verdict store backfill: count access events: %w", err)
	}
	if n == 0 {
		return nil
	}
	buckets := (int64(n) + o.ChunkEvents - 1) / o.ChunkEvents
	o.Logger.Info(fmt.Sprintf("evaluating %d stored events into the verdict store; this runs once", n),
		"events", n, "chunks", buckets)
	sql, err := queries.Verdicts("backfill", o.Schema)
	if err != nil {
		return err
	}
	from, to := time.Unix(0, minNS).UTC(), time.Unix(0, maxNS+1).UTC()
	start := time.Now()
	for b := int64(0); b < buckets; b++ {
		args := []any{clickhouse.Named("from_s", from.Unix()), clickhouse.Named("to_s", to.Unix()),
			clickhouse.Named("from_ns", from.UnixNano()), clickhouse.Named("to_ns", to.UnixNano()),
			clickhouse.Named("buckets", buckets), clickhouse.Named("bucket", b)}
		if err := o.Conn.Exec(ctx, sql, args...); err != nil {
			return fmt.Errorf("verdict store backfill: chunk %d of %d: %w; it is not resumed: `TRUNCATE TABLE access_verdicts` before the next start redoes it", b+1, buckets, err)
		}
		o.Logger.Info("verdict store backfill progress", "chunk", b+1, "chunks", buckets,
			"elapsed", time.Since(start).Round(time.Second))
	}
	o.Logger.Info("verdict store backfill done", "events", n, "duration", time.Since(start).Round(time.Millisecond))
	return nil
}

// verdictsStored reports whether access_verdicts holds any row.
func verdictsStored(ctx context.Context, o BackfillOptions) (bool, error) {
	sql, err := queries.Verdicts("any_stored", o.Schema)
	if err != nil {
		return false, err
	}
	rows, err := o.Conn.Query(ctx, sql)
	if err != nil {
		return false, fmt.Errorf("verdict store backfill: read access_verdicts: %w", err)
	}
	defer rows.Close()
	found := rows.Next()
	return found, rows.Err()
}
