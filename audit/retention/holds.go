package retention

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/google/uuid"

	"github.com/privaudit/privaudit/queries"
)

// Kinds of legal hold.
const (
	HoldSubject = "subject"
	HoldPeriod  = "period"
)

// Hold is a legal hold: while it stands (not Lifted) the retention job
// keeps every partition holding a record of SubjectID (kind subject) or
// overlapping [From, To) (kind period).
type Hold struct {
	ID         string    `json:"hold_id"`
	Kind       string    `json:"kind"`
	SubjectID  string    `json:"subject_id,omitempty"`
	From       time.Time `json:"from,omitzero"`
	To         time.Time `json:"to,omitzero"`
	Reason     string    `json:"reason"`
	SetBy      string    `json:"set_by"`
	SetAt      time.Time `json:"set_at"`
	Lifted     bool      `json:"lifted"`
	LiftedBy   string    `json:"lifted_by,omitempty"`
	LiftedAt   time.Time `json:"lifted_at,omitzero"`
	LiftReason string    `json:"lift_reason,omitempty"`
}

// Check refuses a hold that names neither or both of a subject and a
// period, a period that does not end after it starts, or no reason.
func (h *Hold) Check() error {
	period := !h.From.IsZero() || !h.To.IsZero()
	switch {
	case h.SubjectID != "" && period:
		return errors.New("legal hold: give subject_id or from/to, not both (set two holds)")
	case h.SubjectID != "":
		h.Kind = HoldSubject
	case h.From.IsZero() || h.To.IsZero():
		return errors.New("legal hold: give subject_id, or both from and to (RFC 3339 times or YYYY-MM-DD dates)")
	case !h.To.After(h.From):
		return fmt.Errorf("legal hold: to %s must be after from %s", h.To.Format(time.RFC3339), h.From.Format(time.RFC3339))
	default:
		h.Kind = HoldPeriod
	}
	if h.Reason == "" {
		return errors.New("legal hold: a reason is required (e.g. the matter or case number)")
	}
	return nil
}

// Holds keeps the legal holds in MetaDB.legal_holds.
type Holds struct {
	conn               driver.Conn
	insertSQL, listSQL string
}

// NewHolds prepares the statements of the legal holds.
func NewHolds(conn driver.Conn, s queries.Schema) (*Holds, error) {
	h := &Holds{conn: conn}
	var err error
	if h.insertSQL, err = queries.Retention("insert_hold", s); err != nil {
		return nil, err
	}
	if h.listSQL, err = queries.Retention("list_holds", s); err != nil {
		return nil, err
	}
	return h, nil
}

// Set records h as a standing hold, set by who now, under h.ID or a new id.
func (hs *Holds) Set(ctx context.Context, h Hold, who string, now time.Time) (Hold, error) {
	if err := h.Check(); err != nil {
		return h, err
	}
	if h.ID == "" {
		h.ID = uuid.NewString()
	}
	h.SetBy, h.SetAt = who, now.UTC().Truncate(time.Second)
	h.Lifted, h.LiftedBy, h.LiftedAt, h.LiftReason = false, "", time.Time{}, ""
	return h, hs.write(ctx, h, 1)
}

// Lift ends the standing hold id, lifted by who now for reason.
func (hs *Holds) Lift(ctx context.Context, id, who, reason string, now time.Time) (Hold, error) {
	h, err := hs.Standing(ctx, id)
	if err != nil {
		return h, err
	}
	h.Lifted, h.LiftedBy, h.LiftedAt, h.LiftReason = true, who, now.UTC().Truncate(time.Second), reason
	return h, hs.write(ctx, h, 2)
}

// Standing returns the hold id, or ErrNoHold or ErrLifted.
func (hs *Holds) Standing(ctx context.Context, id string) (Hold, error) {
	all, err := hs.List(ctx)
	if err != nil {
		return Hold{}, err
	}
	for _, h := range all {
		if h.ID != id {
			continue
		}
		if h.Lifted {
			return h, fmt.Errorf("%w: legal hold %s was lifted by %s at %s", ErrLifted, id, h.LiftedBy, h.LiftedAt.Format(time.RFC3339))
		}
		return h, nil
	}
	return Hold{}, fmt.Errorf("%w: no legal hold %s; `privaudit hold list` shows the holds", ErrNoHold, id)
}

// ErrNoHold and ErrLifted are Lift's refusals.
var (
	ErrNoHold = errors.New("no such legal hold")
	ErrLifted = errors.New("legal hold already lifted")
)

func (hs *Holds) write(ctx context.Context, h Hold, version uint64) error {
	b, err := hs.conn.PrepareBatch(ctx, hs.insertSQL)
	if err != nil {
		return fmt.Errorf("record legal hold: %w", err)
	}
	var lifted uint8
	if h.Lifted {
		lifted = 1
	}
	err = b.Append(h.ID, h.Kind, h.SubjectID, h.From.UTC(), h.To.UTC(), h.Reason, h.SetBy, h.SetAt,
		lifted, h.LiftedBy, h.LiftedAt.UTC(), h.LiftReason, version)
	if err == nil {
		err = b.Send()
	}
	if err != nil {
		return fmt.Errorf("record legal hold: %w", err)
	}
	return nil
}

// List returns every hold, standing and lifted, oldest first.
func (hs *Holds) List(ctx context.Context) ([]Hold, error) {
	rows, err := hs.conn.Query(ctx, hs.listSQL)
	if err != nil {
		return nil, fmt.Errorf("read legal holds: %w", err)
	}
	defer rows.Close()
	var out []Hold
	for rows.Next() {
		var h Hold
		var lifted uint8
		if err := rows.Scan(&h.ID, &h.Kind, &h.SubjectID, &h.From, &h.To, &h.Reason, &h.SetBy, &h.SetAt,
			&lifted, &h.LiftedBy, &h.LiftedAt, &h.LiftReason); err != nil {
			return nil, fmt.Errorf("read legal holds: %w", err)
		}
		h.Lifted = lifted == 1
		if h.Kind == HoldSubject {
			h.From, h.To = time.Time{}, time.Time{}
		}
		if !h.Lifted {
			h.LiftedAt = time.Time{}
		}
		out = append(out, h)
	}
	return out, rows.Err()
}

// standing returns the holds not lifted.
func (hs *Holds) standing(ctx context.Context) ([]Hold, error) {
	all, err := hs.List(ctx)
	if err != nil {
		return nil, err
	}
	var out []Hold
	for _, h := range all {
		if !h.Lifted {
			out = append(out, h)
		}
	}
	return out, nil
}
