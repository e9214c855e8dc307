package retention

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/privaudit/privaudit/audit"
	"github.com/privaudit/privaudit/audit/apierr"
	"github.com/privaudit/privaudit/audit/auth"
)

// HoldSubjectPeriod is the subject of the trail event of a period hold,
// which concerns many customers.
const HoldSubjectPeriod = "privaudit:legal_hold"

// RouteOptions configure Routes.
type RouteOptions struct {
	Holds *Holds
	// Record spools the trail event of each set and lift, before the hold
	// changes: a change that cannot be recorded is refused.
	Record func(ctx context.Context, evs ...audit.Event) error
	// Admin wraps a handler so only admin tokens reach it.
	Admin  func(http.Handler) http.Handler
	Logger *slog.Logger
	Now    func() time.Time
}

// HoldRequest is the body of POST /v1/holds and /v1/holds/{id}/lift.
type HoldRequest struct {
	SubjectID string    `json:"subject_id,omitempty"`
	From      time.Time `json:"from,omitzero"`
	To        time.Time `json:"to,omitzero"`
	Reason    string    `json:"reason"`
}

// Routes adds the admin endpoints of the legal holds: GET /v1/holds lists
// them, POST /v1/holds sets one, POST /v1/holds/{id}/lift lifts one.
func Routes(mux *http.ServeMux, o RouteOptions) {
	if o.Now == nil {
		o.Now = time.Now
	}
	mux.Handle("GET /v1/holds", o.Admin(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hs, err := o.Holds.List(r.Context())
		if err != nil {
			apierr.Write(w, r, o.Logger, apierr.Errorf(apierr.Unavailable, "legal holds cannot be read now: %v", err))
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"holds": hs})
	})))
	mux.Handle("POST /v1/holds", o.Admin(http.HandlerFunc(o.set)))
	mux.Handle("POST /v1/holds/{id}/lift", o.Admin(http.HandlerFunc(o.lift)))
}

func (o RouteOptions) set(w http.ResponseWriter, r *http.Request) {
	var req HoldRequest
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10)).Decode(&req); err != nil {
		apierr.Write(w, r, o.Logger, apierr.Errorf(apierr.Invalid, "legal hold: the body is not a JSON hold request: %v", err))
		return
	}
	h := Hold{ID: uuid.NewString(), SubjectID: req.SubjectID, From: req.From.UTC(), To: req.To.UTC(), Reason: req.Reason}
	if err := h.Check(); err != nil {
		apierr.Write(w, r, o.Logger, apierr.Errorf(apierr.Invalid, "%v", err))
		return
	}
	id, _ := auth.FromContext(r.Context())
	if !o.record(w, r, holdEvent(id.Name, "set", h, req.Reason, o.Now())) {
		return
	}
	h, err := o.Holds.Set(r.Context(), h, id.Name, o.Now())
	if err != nil {
		apierr.Write(w, r, o.Logger, apierr.Errorf(apierr.Unavailable, "legal hold not set: %v; try again", err))
		return
	}
	o.Logger.Info("legal hold set", "hold_id", h.ID, "kind", h.Kind, "by", id.Name)
	writeJSON(w, http.StatusCreated, h)
}

func (o RouteOptions) lift(w http.ResponseWriter, r *http.Request) {
	var req HoldRequest
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10)).Decode(&req); err != nil || req.Reason == "" {
		apierr.Write(w, r, o.Logger, apierr.Errorf(apierr.Invalid, `lifting a legal hold needs a JSON body with a reason: {"reason": "..."}`))
		return
	}
	h, err := o.Holds.Standing(r.Context(), r.PathValue("id"))
	switch {
	case errors.Is(err, ErrNoHold):
		apierr.Write(w, r, o.Logger, apierr.Errorf(apierr.NotFound, "%v", err))
		return
	case errors.Is(err, ErrLifted):
		apierr.Write(w, r, o.Logger, apierr.Errorf(apierr.Invalid, "%v", err))
		return
	case err != nil:
		apierr.Write(w, r, o.Logger, apierr.Errorf(apierr.Unavailable, "legal holds cannot be read now: %v", err))
		return
	}
	id, _ := auth.FromContext(r.Context())
	if !o.record(w, r, holdEvent(id.Name, "lift", h, req.Reason, o.Now())) {
		return
	}
	if h, err = o.Holds.Lift(r.Context(), h.ID, id.Name, req.Reason, o.Now()); err != nil {
		apierr.Write(w, r, o.Logger, apierr.Errorf(apierr.Unavailable, "legal hold not lifted: %v; try again", err))
		return
	}
	o.Logger.Info("legal hold lifted", "hold_id", h.ID, "by", id.Name)
	writeJSON(w, http.StatusOK, h)
}

// record spools ev, or answers 503 and reports false.
func (o RouteOptions) record(w http.ResponseWriter, r *http.Request, ev audit.Event) bool {
	if err := o.Record(r.Context(), ev); err != nil {
		o.Logger.Error("legal hold change refused: it could not be recorded", "err", err)
		e := apierr.Errorf(apierr.Unavailable, "the legal hold was not changed: its record could not be written (%v); try again shortly", err)
		e.RetryAfter = 30 * time.Second
		apierr.Write(w, r, o.Logger, e)
		return false
	}
	return true
}

// holdEvent is the trail event of who setting or lifting (op) hold h: an
// update of the audit log, about the held subject (or HoldSubjectPeriod).
func holdEvent(who, op string, h Hold, reason string, now time.Time) audit.Event {
	subject := h.SubjectID
	attrs := map[string]string{"operation": op, "hold_id": h.ID, "kind": h.Kind, "reason": reason}
	if h.Kind == HoldPeriod {
		subject = HoldSubjectPeriod
		attrs["from"], attrs["to"] = h.From.Format(time.RFC3339), h.To.Format(time.RFC3339)
	}
	ev := audit.Event{
		EventID: uuid.NewString(), OccurredAt: now.UTC(), ActorID: who, ActorType: audit.TrailActorType,
		SubjectID: subject, Action: "update", DataCategories: []string{audit.TrailDataCategory},
		RecipientID: audit.TrailRecipient, RecipientType: audit.TrailRecipient,
		Purpose: audit.TrailPurposeLegalHold, LegalBasis: audit.TrailLegalBasis, Outcome: "allowed",
		Channel: audit.TrailChannelAPI, RequestID: h.ID,
	}
	for _, k := range slices.Sorted(maps.Keys(attrs)) {
		ev.AttrKeys = append(ev.AttrKeys, k)
		ev.AttrValues = append(ev.AttrValues, attrs[k])
	}
	return ev
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
