package reports

import (
	"context"
	"fmt"
	"time"

	"github.com/privaudit/privaudit/audit"
)

// SubjectAccess is the officer's report of everything about one customer.
const SubjectAccess = "subject-access"

// Timeline is one customer's history over a period, oldest first: the rows
// of the subject-access report for the same customer and period, in its
// order (occurred_at, then accesses before consent changes at the same
// instant), with the links between accesses and consent changes the report
// leaves to its reader.
type Timeline struct {
	SubjectID string
	From, To  time.Time
	Entries   []TimelineEntry
	// Omitted counts the rows past TimelineRequest.Limit: read (and
	// recorded as revealed) but not kept.
	Omitted int64
	// Run is the recorded run that read the rows (its EventID, Rows,
	// SHA256 and Ledger).
	Run RunResult
}

// Entry kinds: the report's record_type.
const (
	EntryAccess  = "access"
	EntryConsent = "consent"
)

// TimelineEntry is one row of the subject-access report. For an access,
// ConsentID is the consent that decided its verdict (the report's
// consent_id); for a consent change, its own consent.
type TimelineEntry struct {
	Kind          string // EntryAccess or EntryConsent
	ID            string // event_id, or consent_event_id for a consent change
	At            time.Time
	Action        string // the access's action; consent_granted or consent_withdrawn
	ActorID       string
	ActorType     string
	RecipientID   string
	RecipientType string
	Purpose       string // a consent change: its purposes joined with ';'
	Categories    []string
	LegalBasis    string
	ConsentID     string
	Verdict       string
	Outcome       string
	Disclosure    bool
	Records       int64
	Channel       string
	ExpiresAt     time.Time // a grant's expiry; zero when none
	// DecidedBy is, for an access whose verdict a consent's state decided
	// (LedgerDecided), the ID of the consent change that put that state in
	// force: the latest change of ConsentID effective at or before the
	// access. Empty when the verdict needed no consent state, or that
	// consent's changes are not on this customer's timeline (a consent of
	// another customer).
	DecidedBy string
	// Decides is, for a consent change, the IDs of the accesses it decided:
	// the accesses of the period whose DecidedBy is this change — those
	// whose deciding consent is this consent and which fall at or after
	// this change's effective time and before the consent's next change.
	Decides []string
}

// LedgerDecided reports whether the verdict v was decided by the state of a
// consent at the time of the access (SPEC §3 step 4 and 5): covered and the
// consent's failed checks. denied, other_basis, no_consent and
// consent_unknown were decided without one.
func LedgerDecided(v string) bool {
	switch audit.Verdict(v) {
	case audit.VerdictCovered, audit.VerdictSubjectMismatch, audit.VerdictRecipientNotCovered,
		audit.VerdictConsentWithdrawn, audit.VerdictConsentExpired, audit.VerdictPurposeNotCovered,
		audit.VerdictCategoryNotCovered:
		return true
	}
	return false
}

// TimelineRequest asks for one customer's timeline.
type TimelineRequest struct {
	SubjectID string
	From, To  time.Time // the period [From, To) of the accesses
	// Actor is the officer looking the customer up; the lookup is recorded
	// under that name like a report run, with the customer as subject.
	Actor, Channel, RequestID string
	// Attrs are recorded on the lookup's access event (RunRequest.Attrs).
	Attrs map[string]string
	// Limit, if positive, keeps only the first Limit rows (the oldest):
	// the links then reach only those.
	Limit int
}

// Timeline reads one customer's timeline through the subject-access
// report (Each): the lookup is validated, read and recorded as that
// report's run, with format "view".
func (r *Runner) Timeline(ctx context.Context, req TimelineRequest) (Timeline, error) {
	tl := Timeline{SubjectID: req.SubjectID, From: req.From, To: req.To}
	d, _ := r.o.Catalog.Lookup(SubjectAccess)
	col := map[string]int{}
	for i, c := range d.Columns {
		col[c.Name] = i
	}
	res, err := r.Each(ctx, RunRequest{Report: SubjectAccess, From: req.From, To: req.To,
		Params: map[string]string{"subject_id": req.SubjectID}, Actor: req.Actor, Channel: req.Channel,
		RequestID: req.RequestID, Attrs: req.Attrs}, func(v []any) error {
		if req.Limit > 0 && len(tl.Entries) >= req.Limit {
			tl.Omitted++
			return nil
		}
		tl.Entries = append(tl.Entries, readEntry(col, v))
		return nil
	})
	if err != nil {
		return Timeline{}, err
	}
	tl.Run = res
	linkConsents(tl.Entries)
	return tl, nil
}

// readEntry reads one subject-access row by column name.
func readEntry(col map[string]int, v []any) TimelineEntry {
	s := func(name string) string { return v[col[name]].(string) }
	return TimelineEntry{
		Kind: s("record_type"), ID: s("event_id"), At: v[col["occurred_at"]].(time.Time), Action: s("action"),
		ActorID: s("actor_id"), ActorType: s("actor_type"), RecipientID: s("recipient_id"),
		RecipientType: s("recipient_type"), Purpose: s("purpose"),
		Categories: append([]string(nil), v[col["data_categories"]].([]string)...),
		LegalBasis: s("legal_basis"), ConsentID: s("consent_id"), Verdict: s("verdict"), Outcome: s("outcome"),
		Disclosure: v[col["disclosure"]].(bool), Records: v[col["record_count"]].(int64), Channel: s("channel"),
		ExpiresAt: v[col["expires_at"]].(time.Time),
	}
}

// linkConsents sets DecidedBy and Decides. Entries are in time order, so
// each consent's changes are too; a change effective at the very instant
// of an access is in force at it (the engine's effective_at <= t). Of two
// changes of one consent at the same instant, the later on the timeline
// (by event id: the report cannot tell their ingest order) is taken.
func linkConsents(es []TimelineEntry) {
	changes := map[string][]int{} // consent_id → indexes of its changes
	for i, e := range es {
		if e.Kind == EntryConsent {
			changes[e.ConsentID] = append(changes[e.ConsentID], i)
		}
	}
	for i := range es {
		e := &es[i]
		if e.Kind != EntryAccess || !LedgerDecided(e.Verdict) {
			continue
		}
		by := -1
		for _, c := range changes[e.ConsentID] {
			if es[c].At.After(e.At) {
				break
			}
			by = c
		}
		if by >= 0 {
			e.DecidedBy = es[by].ID
			es[by].Decides = append(es[by].Decides, e.ID)
		}
	}
}

// String describes an entry for logs and test failures; no personal data
// beyond ids.
func (e TimelineEntry) String() string {
	return fmt.Sprintf("%s %s %s %s %s", e.At.Format(time.RFC3339Nano), e.Kind, e.ID, e.Action, e.Verdict)
}
