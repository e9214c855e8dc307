package reports

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/privaudit/privaudit/queries"
)

// Checkpoint is the proof log checkpoint a run's data was read under: the
// latest signed checkpoint stored when the run read its data. Every record
// the run could read that was stored before that checkpoint is one of its
// first Size leaves, so `privaudit verify` with that checkpoint shows
// whether any of them was changed since. A zero Size means none was signed
// yet.
type Checkpoint struct {
	Size     uint64
	Root     string // lowercase hex of the root hash
	SignedAt time.Time
	Origin   string
	// Disabled is set when the proof log is off (proof.enabled: false).
	Disabled bool
}

// Value is the checkpoint in the run's machine-readable metadata (the
// checkpoint attribute of the recorded run, the download trailer):
// "size=N root=HEX signed_at=RFC3339 origin=ORIGIN", "none" when none is
// signed yet, "disabled" when the proof log is off.
func (c Checkpoint) Value() string {
	switch {
	case c.Disabled:
		return "disabled"
	case c.Size == 0:
		return "none"
	}
	return "size=" + strconv.FormatUint(c.Size, 10) + " root=" + c.Root + " signed_at=" +
		c.SignedAt.UTC().Format(time.RFC3339) + " origin=" + c.Origin
}

// String states the checkpoint for an officer or an auditor, as the About
// sheet shows it.
func (c Checkpoint) String() string {
	switch {
	case c.Disabled:
		return "none: the proof log is disabled (proof.enabled: false), so nothing proves these records unchanged"
	case c.Size == 0:
		return "no checkpoint signed yet: the proof log has not signed its first checkpoint, so nothing yet proves these records unchanged"
	}
	return fmt.Sprintf("the first %d records of log %s, root %s, signed at %s; check with `privaudit verify`",
		c.Size, c.Origin, c.Root, c.SignedAt.UTC().Format("2006-01-02 15:04:05 UTC"))
}

// CustomerText states the checkpoint for the customer a report is about:
// plain words, without the log's size, root or commands, which mean
// nothing to a customer (and the size would tell the bank's volume). It is
// empty when no checkpoint is signed: saying so would only confuse.
func (c Checkpoint) CustomerText() string {
	if c.Disabled || c.Size == 0 {
		return ""
	}
	return "The records in this report were read from a tamper-evident log sealed on " +
		c.SignedAt.UTC().Format("2 January 2006 at 15:04 UTC") +
		"; on request, the bank can prove that they have not been changed since."
}

// checkpoint reads the latest signed checkpoint (none when the proof log
// is disabled).
func (r *Runner) checkpoint(ctx context.Context) (Checkpoint, error) {
	if r.o.NoProof {
		return Checkpoint{Disabled: true}, nil
	}
	q, err := queries.Ingest("log_latest_checkpoint", r.o.Schema)
	if err != nil {
		return Checkpoint{}, err
	}
	rows, err := r.o.Conn.Query(ctx, q)
	if err != nil {
		return Checkpoint{}, fmt.Errorf("read the latest proof log checkpoint: %w", err)
	}
	defer rows.Close()
	var c Checkpoint
	if rows.Next() {
		if err := rows.Scan(&c.Size, &c.Root, &c.SignedAt, &c.Origin); err != nil {
			return Checkpoint{}, fmt.Errorf("read the latest proof log checkpoint: %w", err)
		}
	}
	if err := rows.Err(); err != nil {
		return Checkpoint{}, fmt.Errorf("read the latest proof log checkpoint: %w", err)
	}
	return c, nil
}
