package reports

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/privaudit/privaudit/audit/apierr"
)

// LedgerPosition is the consent ledger the stored verdicts of a run
// reflect: every record accepted before Through is stored with its
// verdict. A zero Through means the run did not wait (Options.Fresh is
// nil): it reads the verdicts as stored when it started.
type LedgerPosition struct {
	Through time.Time
}

// Waited reports whether the run waited for the verdicts to catch up.
func (p LedgerPosition) Waited() bool { return !p.Through.IsZero() }

// Value is the position in the run's machine-readable metadata (the
// ledger_position attribute of the recorded run, the download trailer):
// the RFC 3339 time in UTC with nanoseconds, or "not waited".
func (p LedgerPosition) Value() string {
	if !p.Waited() {
		return "not waited"
	}
	return p.Through.UTC().Format(time.RFC3339Nano)
}

// String states the position for a reader, as the About sheet shows it.
func (p LedgerPosition) String() string {
	if !p.Waited() {
		return "not waited for: the verdicts as stored when the run started, which may not yet reflect the latest records accepted"
	}
	return "every record accepted before " + p.Value()
}

// FreshFunc waits until every record accepted before startedAt is stored
// with its verdict, and returns the position the verdicts then reflect
// (see Options.Fresh).
type FreshFunc func(ctx context.Context, startedAt time.Time) (LedgerPosition, error)

// readState is what a run's data is read under: the consent ledger
// position its verdicts reflect and the proof log checkpoint.
type readState struct {
	ledger     LedgerPosition
	checkpoint Checkpoint
}

// readState waits for the ledger (see ledger), then reads the latest
// checkpoint: read after the wait, it is the one signed when the run reads
// its data.
func (r *Runner) readState(ctx context.Context, startedAt time.Time) (readState, error) {
	pos, err := r.ledger(ctx, startedAt)
	if err != nil {
		return readState{}, err
	}
	cp, err := r.checkpoint(ctx)
	if err != nil {
		return readState{}, err
	}
	return readState{ledger: pos, checkpoint: cp}, nil
}

// DefaultFreshWait is the default Options.FreshWait.
const DefaultFreshWait = 5 * time.Minute

// ledger waits, through Options.Fresh, until the stored verdicts reflect
// every record accepted before startedAt, for at most Options.FreshWait. A
// wait that fails is an apierr.Unavailable error saying what is pending.
func (r *Runner) ledger(ctx context.Context, startedAt time.Time) (LedgerPosition, error) {
	if r.o.Fresh == nil {
		return LedgerPosition{}, nil
	}
	wctx, cancel := context.WithTimeout(ctx, r.o.FreshWait)
	defer cancel()
	pos, err := r.o.Fresh(wctx, startedAt)
	if err == nil {
		return pos, nil
	}
	if ctx.Err() != nil {
		return pos, fmt.Errorf("wait for the stored verdicts: %w", ctx.Err())
	}
	why := err.Error()
	if errors.Is(err, context.DeadlineExceeded) {
		why = fmt.Sprintf("still pending after %s: %v", r.o.FreshWait, err)
	}
	return pos, &apierr.Error{Code: apierr.Unavailable, RetryAfter: 30 * time.Second,
		Message: fmt.Sprintf("the stored verdicts do not yet reflect every record accepted before %s (%s): "+
			"the records are safe in the spool and their verdicts are written as ClickHouse stores them; "+
			"check the ingest writers (GET /metrics, the server log) and run the report again",
			startedAt.UTC().Format(time.RFC3339Nano), why)}
}
