package audit

import "slices"

// Ledger is a whole consent ledger held in memory, indexed so that each
// access event finds the consents that can decide it at once. It evaluates
// with the same rules as ConsentHistory; tests and cross-checks use it as
// the reference the SQL engine must agree with. The zero value is an empty
// ledger.
type Ledger struct {
	byID   map[string][]LedgerEntry // per consent, ordered by compareEntries
	byPair map[pairKey][]string     // consent ids of (subject, recipient), first-seen order
	seen   map[string]struct{}      // consent_event_ids added
	n      uint64
}

type pairKey struct{ subject, recipient string }

// NewLedger builds a ledger from consent events in the order they were
// stored.
func NewLedger(consents []Consent) *Ledger {
	l := &Ledger{}
	for i := range consents {
		l.Add(consents[i])
	}
	return l
}

// Add appends one consent event, stored after every event added before. A
// consent_event_id already added is ignored: it is stored once.
func (l *Ledger) Add(c Consent) {
	if l.byID == nil {
		l.byID, l.byPair, l.seen = map[string][]LedgerEntry{}, map[pairKey][]string{}, map[string]struct{}{}
	}
	if _, dup := l.seen[c.ConsentEventID]; dup {
		return
	}
	l.seen[c.ConsentEventID] = struct{}{}
	events := l.byID[c.ConsentID]
	if !slices.ContainsFunc(events, func(x LedgerEntry) bool {
		return x.SubjectID == c.SubjectID && x.RecipientID == c.RecipientID
	}) {
		k := pairKey{c.SubjectID, c.RecipientID}
		l.byPair[k] = append(l.byPair[k], c.ConsentID)
	}
	entry := LedgerEntry{Consent: &c, Seq: l.n}
	i, _ := slices.BinarySearchFunc(events, entry, compareEntries)
	l.byID[c.ConsentID] = slices.Insert(events, i, entry)
	l.n++
}

// Len returns the number of consent events in the ledger.
func (l *Ledger) Len() int { return int(l.n) }

// Evaluate returns the verdict of access event e against the ledger.
func (l *Ledger) Evaluate(e *Event) Evaluation {
	if ev, done := evaluateBasis(e); done {
		return ev
	}
	if e.ConsentID != "" {
		return evaluateNamed(e, l.byID[e.ConsentID])
	}
	var p candidates
	for _, id := range l.byPair[pairKey{e.SubjectID, e.RecipientID}] {
		p.consider(e, l.byID[id])
	}
	return p.result(e)
}
