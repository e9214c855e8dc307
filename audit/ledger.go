package audit

import (
	"cmp"
	"slices"
	"strings"
	"time"
)

// LedgerEntry is one consent event of the consent ledger with its ledger
// position: Seq orders the consent events as they were stored (ingest_seq),
// a later-stored event having a larger Seq. Consent must not be nil.
type LedgerEntry struct {
	*Consent
	Seq uint64
}

// Evaluation is the verdict of one access event (SPEC §3).
type Evaluation struct {
	Verdict Verdict
	// ConsentID is the consent that decided the verdict: the covering one,
	// or the failing candidate; the event's own consent_id for denied,
	// other_basis and consent_unknown; "" for no_consent.
	ConsentID string
	// Detail explains the verdict in words, worded exactly as the SQL
	// engine words it (the stored verdicts and reports show it); for
	// category_not_covered it is "missing categories: " and Missing joined
	// with ", ". It may name subjects and recipients: never log it.
	Detail string
	// Missing lists, for category_not_covered, the event's categories the
	// consent does not allow, in the event's order, each once.
	Missing []string
}

// ConsentHistory is the part of the consent ledger that decides some access
// events, ordered by consent_id, effective_at and ledger position. To
// decide an event it must hold every event of the consent the event names,
// or, for an event naming no consent, every event of every consent of which
// some event names the event's (subject_id, recipient_id). It may hold more
// (for example a subject's whole ledger): other consents are ignored. Each
// consent event must appear once (read the ledger deduplicated, e.g. with
// FINAL): a copy at another position could change who wins a tie.
type ConsentHistory struct {
	entries []LedgerEntry
}

// NewConsentHistory sorts entries in place and returns them as a history.
// The caller must not change entries afterwards.
func NewConsentHistory(entries []LedgerEntry) ConsentHistory {
	slices.SortFunc(entries, func(a, b LedgerEntry) int {
		if c := strings.Compare(a.ConsentID, b.ConsentID); c != 0 {
			return c
		}
		return compareEntries(a, b)
	})
	return ConsentHistory{entries: entries}
}

// Len returns the number of consent events in the history.
func (h ConsentHistory) Len() int { return len(h.entries) }

// Evaluate returns the verdict of access event e against the history. It
// allocates only for the detail of a failing verdict.
func (h ConsentHistory) Evaluate(e *Event) Evaluation {
	if ev, done := evaluateBasis(e); done {
		return ev
	}
	if e.ConsentID != "" {
		lo, _ := slices.BinarySearchFunc(h.entries, e.ConsentID, func(x LedgerEntry, id string) int {
			return strings.Compare(x.ConsentID, id)
		})
		hi := lo
		for hi < len(h.entries) && h.entries[hi].ConsentID == e.ConsentID {
			hi++
		}
		return evaluateNamed(e, h.entries[lo:hi])
	}
	var p candidates
	for i := 0; i < len(h.entries); {
		j := i + 1
		for j < len(h.entries) && h.entries[j].ConsentID == h.entries[i].ConsentID {
			j++
		}
		if namesPair(h.entries[i:j], e) {
			p.consider(e, h.entries[i:j])
		}
		i = j
	}
	return p.result(e)
}

// compareEntries orders two events of one consent by effective_at, then
// ledger position.
func compareEntries(a, b LedgerEntry) int {
	if c := a.EffectiveAt.Compare(b.EffectiveAt); c != 0 {
		return c
	}
	return cmp.Compare(a.Seq, b.Seq)
}

// stateAt returns the state at t of one consent, whose events are ordered by
// compareEntries: its latest event effective at or before t, the
// later-stored one on ties (SPEC §3 step 4).
func stateAt(events []LedgerEntry, t time.Time) (LedgerEntry, bool) {
	i, _ := slices.BinarySearchFunc(events, t, func(x LedgerEntry, t time.Time) int {
		if x.EffectiveAt.After(t) {
			return 1
		}
		return -1
	})
	if i == 0 {
		return LedgerEntry{}, false
	}
	return events[i-1], true
}

// namesPair reports whether some event of one consent names e's subject and
// recipient: the consent is then a candidate for e (SPEC §3 step 3).
func namesPair(events []LedgerEntry, e *Event) bool {
	for _, c := range events {
		if c.SubjectID == e.SubjectID && c.RecipientID == e.RecipientID {
			return true
		}
	}
	return false
}

// NeedsConsent reports whether e's verdict depends on the consent ledger:
// every event but denied ones and those on another legal basis (SPEC §3
// steps 1 and 2). A consent event can change only these events' verdicts.
func (e *Event) NeedsConsent() bool {
	return e.Outcome != "denied" && e.LegalBasis == "consent"
}

// evaluateBasis decides the events that need no consent: denied ones and
// those on another legal basis (SPEC §3 steps 1 and 2).
func evaluateBasis(e *Event) (Evaluation, bool) {
	if e.NeedsConsent() {
		return Evaluation{}, false
	}
	switch {
	case e.Outcome == "denied":
		return Evaluation{Verdict: VerdictDenied, ConsentID: e.ConsentID, Detail: "the request was refused (outcome denied)"}, true
	case e.LegalBasis != "consent":
		return Evaluation{Verdict: VerdictOtherBasis, ConsentID: e.ConsentID, Detail: "legal basis " + e.LegalBasis}, true
	}
	return Evaluation{}, false
}

// evaluateNamed decides an event that names its consent, given that
// consent's events ordered by compareEntries.
func evaluateNamed(e *Event, events []LedgerEntry) Evaluation {
	id := e.ConsentID
	st, ok := stateAt(events, e.OccurredAt)
	switch {
	case !ok:
		return Evaluation{Verdict: VerdictConsentUnknown, ConsentID: id,
			Detail: "no event of consent " + id + " is effective at or before the access"}
	case st.SubjectID != e.SubjectID:
		return Evaluation{Verdict: VerdictSubjectMismatch, ConsentID: id,
			Detail: "consent " + id + " belongs to subject " + st.SubjectID}
	case st.RecipientID != e.RecipientID:
		return Evaluation{Verdict: VerdictRecipientNotCovered, ConsentID: id,
			Detail: "consent " + id + " is for recipient " + st.RecipientID}
	}
	ev := checkState(st.Consent, e)
	ev.ConsentID = id
	return ev
}

// candidates collects the candidate consents of an event naming no consent
// (SPEC §3 steps 3 and 5).
type candidates struct {
	latest, covering LedgerEntry
	found, covered   bool
}

// consider adds one candidate consent, given its events ordered by
// compareEntries.
func (p *candidates) consider(e *Event, events []LedgerEntry) {
	st, ok := stateAt(events, e.OccurredAt)
	if !ok {
		return
	}
	if !p.found || newer(st, p.latest) {
		p.latest, p.found = st, true
	}
	if (!p.covered || newer(st, p.covering)) && stateVerdict(st.Consent, e) == VerdictCovered {
		p.covering, p.covered = st, true
	}
}

// result returns the verdict: covered by the most recently effective
// covering candidate, else the failure of the most recently effective one.
func (p *candidates) result(e *Event) Evaluation {
	switch {
	case p.covered:
		return Evaluation{Verdict: VerdictCovered, ConsentID: p.covering.ConsentID, Detail: "covered by consent " + p.covering.ConsentID}
	case !p.found:
		return Evaluation{Verdict: VerdictNoConsent,
			Detail: "no consent of subject " + e.SubjectID + " for recipient " + e.RecipientID + " in effect"}
	}
	ev := checkState(p.latest.Consent, e)
	ev.ConsentID = p.latest.ConsentID
	return ev
}

// newer reports whether state a is more recently effective than b (ties:
// the later-stored).
func newer(a, b LedgerEntry) bool {
	return compareEntries(a, b) > 0
}

// stateVerdict applies the state checks of SPEC §3 step 4 to one candidate
// state, in order, and returns the first failure or covered. It allocates
// nothing.
func stateVerdict(c *Consent, e *Event) Verdict {
	switch {
	case c.Status == "withdrawn":
		return VerdictConsentWithdrawn
	case c.ExpiresAt != nil && !c.ExpiresAt.After(e.OccurredAt):
		return VerdictConsentExpired
	case !slices.Contains(c.Purposes, e.Purpose):
		return VerdictPurposeNotCovered
	}
	for _, cat := range e.DataCategories {
		if !slices.Contains(c.DataCategories, cat) {
			return VerdictCategoryNotCovered
		}
	}
	return VerdictCovered
}

// detailTime is how a detail states a time: UTC, to the second, as the SQL
// engine's formatDateTime '%FT%TZ' does.
const detailTime = "2006-01-02T15:04:05Z"

// checkState returns the verdict of stateVerdict with its detail.
// ConsentID is left for the caller.
func checkState(c *Consent, e *Event) Evaluation {
	v := stateVerdict(c, e)
	ev := Evaluation{Verdict: v}
	switch v {
	case VerdictCovered:
		ev.Detail = "covered by consent " + c.ConsentID
	case VerdictConsentWithdrawn:
		ev.Detail = "consent " + c.ConsentID + " withdrawn at " + c.EffectiveAt.UTC().Truncate(time.Second).Format(detailTime)
	case VerdictConsentExpired:
		ev.Detail = "consent " + c.ConsentID + " expired at " + c.ExpiresAt.UTC().Truncate(time.Second).Format(detailTime)
	case VerdictPurposeNotCovered:
		ev.Detail = "purpose " + e.Purpose + " not in consent " + c.ConsentID + " (allows " + strings.Join(c.Purposes, ", ") + ")"
	case VerdictCategoryNotCovered:
		for _, cat := range e.DataCategories {
			if !slices.Contains(c.DataCategories, cat) && !slices.Contains(ev.Missing, cat) {
				ev.Missing = append(ev.Missing, cat)
			}
		}
		ev.Detail = "missing categories: " + strings.Join(ev.Missing, ", ")
	}
	return ev
}
