package synth

import (
	"strings"
	"time"
)

// Ledger is the consent ledger as known when a report runs: every consent
// event, in ingestion order. It is the input of the reference verdict. The
// zero value is an empty ledger.
type Ledger struct {
	byID   map[string][]ledgerEntry
	byPair map[pairKey][]string // consent ids of (subject, recipient), first-seen order
	seen   map[string]bool      // consent_event_ids added
	n      int
}

type pairKey struct{ subject, recipient string }

// ledgerEntry is one consent event with its position in ingestion order.
type ledgerEntry struct {
	seq int
	c   *WireConsent
}

// NewLedger builds a ledger from consent events in ingestion order.
func NewLedger(consents []WireConsent) *Ledger {
	l := &Ledger{}
	for i := range consents {
		l.Add(consents[i])
	}
	return l
}

// Add appends one consent event, ingested after every event added before.
// A consent_event_id already added is ignored: it is stored once.
func (l *Ledger) Add(c WireConsent) {
	if l.byID == nil {
		l.byID, l.byPair, l.seen = map[string][]ledgerEntry{}, map[pairKey][]string{}, map[string]bool{}
	}
	if l.seen[c.ConsentEventID] {
		return
	}
	l.seen[c.ConsentEventID] = true
	entries := l.byID[c.ConsentID]
	k := pairKey{c.SubjectID, c.RecipientID}
	seen := false
	for _, e := range entries {
		if e.c.SubjectID == c.SubjectID && e.c.RecipientID == c.RecipientID {
			seen = true
			break
		}
	}
	if !seen {
		l.byPair[k] = append(l.byPair[k], c.ConsentID)
	}
	l.byID[c.ConsentID] = append(entries, ledgerEntry{seq: l.n, c: &c})
	l.n++
}

// Len returns the number of consent events in the ledger.
func (l *Ledger) Len() int { return l.n }

// state returns the state of consent id at t: its latest event with
// effective_at ≤ t, the later-ingested one on ties.
func (l *Ledger) state(id string, t time.Time) (ledgerEntry, bool) {
	var best ledgerEntry
	found := false
	for _, e := range l.byID[id] { // ingestion order: >= lets the later one win ties
		if !e.c.EffectiveAt.After(t) && (!found || !e.c.EffectiveAt.Before(best.c.EffectiveAt)) {
			best, found = e, true
		}
	}
	return best, found
}

// newer reports whether state a is more recently effective than b (ties:
// the later-ingested).
func newer(a, b ledgerEntry) bool {
	if c := a.c.EffectiveAt.Compare(b.c.EffectiveAt); c != 0 {
		return c > 0
	}
	return a.seq > b.seq
}

// Verdict is the reference implementation of SPEC §3: the verdict of access
// event e against the ledger, the consent it names (the covering consent, or
// the failing candidate; e's own consent_id for denied, other_basis and
// consent_unknown; "" for no_consent) and a human-readable detail. For
// category_not_covered the detail is exactly the missing categories, in the
// event's order, joined with ";".
//
// Interpretation notes: a candidate's state is its latest event effective at
// or before occurred_at (later-ingested on ties); "most recently effective"
// compares the candidates' states by effective_at, then ingestion order. A
// consent is a consent of (subject, recipient) when any of its events names
// that pair; subject and recipient of a named consent are its state's.
func Verdict(l *Ledger, e WireEvent) (verdict, consentID, detail string) {
	switch {
	case e.Outcome == "denied":
		return VerdictDenied, e.ConsentID, "the request was refused"
	case e.LegalBasis != "consent":
		return VerdictOtherBasis, e.ConsentID, "legal basis " + e.LegalBasis
	case e.ConsentID != "":
		return named(l, &e)
	}
	var best, pass ledgerEntry
	var found, passed bool
	for _, id := range l.byPair[pairKey{e.SubjectID, e.RecipientID}] {
		st, ok := l.state(id, e.OccurredAt)
		if !ok {
			continue
		}
		if !found || newer(st, best) {
			best, found = st, true
		}
		if v, _ := check(st.c, &e); v == VerdictCovered && (!passed || newer(st, pass)) {
			pass, passed = st, true
		}
	}
	switch {
	case passed:
		return VerdictCovered, pass.c.ConsentID, ""
	case !found:
		return VerdictNoConsent, "", "no consent of " + e.SubjectID + " for " + e.RecipientID + " in effect"
	}
	v, d := check(best.c, &e)
	return v, best.c.ConsentID, d
}

// named evaluates an event that names its consent.
func named(l *Ledger, e *WireEvent) (verdict, consentID, detail string) {
	id := e.ConsentID
	st, ok := l.state(id, e.OccurredAt)
	switch {
	case !ok:
		return VerdictConsentUnknown, id, "no event of consent " + id + " is effective at or before occurred_at"
	case st.c.SubjectID != e.SubjectID:
		return VerdictSubjectMismatch, id, "consent " + id + " belongs to subject " + st.c.SubjectID
	case st.c.RecipientID != e.RecipientID:
		return VerdictRecipientNotCovered, id, "consent " + id + " is for recipient " + st.c.RecipientID
	}
	v, d := check(st.c, e)
	return v, id, d
}

// check applies the state checks of SPEC §3 step 4 to one candidate state.
func check(c *WireConsent, e *WireEvent) (verdict, detail string) {
	t := e.OccurredAt
	switch {
	case c.Status == "withdrawn":
		return VerdictConsentWithdrawn, "consent " + c.ConsentID + " withdrawn at " + c.EffectiveAt.UTC().Format(time.RFC3339Nano)
	case c.ExpiresAt != nil && !c.ExpiresAt.After(t):
		return VerdictConsentExpired, "consent " + c.ConsentID + " expired at " + c.ExpiresAt.UTC().Format(time.RFC3339Nano)
	case !contains(c.Purposes, e.Purpose):
		return VerdictPurposeNotCovered, "purpose " + e.Purpose + " not in consent " + c.ConsentID
	}
	var missing []string
	for _, cat := range e.DataCategories {
		if !contains(c.DataCategories, cat) && !contains(missing, cat) {
			missing = append(missing, cat)
		}
	}
	if len(missing) > 0 {
		return VerdictCategoryNotCovered, strings.Join(missing, ";")
	}
	return VerdictCovered, ""
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
