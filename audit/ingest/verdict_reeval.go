package ingest

import (
	"context"
	"fmt"
	"slices"
	"sync/atomic"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/privaudit/privaudit/audit"
)

// reevaluate re-evaluates the stored verdicts that consent events ts, just
// stored, can change (SPEC §3): the events naming one of their consents
// occurred at or after the consent event's effective_at, and the events
// naming no consent whose (subject_id, recipient_id) an event of one of
// those consents names, occurred at or after that consent's earliest
// effective_at (a consent event naming a new pair makes the consent a
// candidate for that pair's earlier accesses too). Only verdicts that
// change are written.
func (s *verdictStore) reevaluate(ctx context.Context, ts []consentTouch) error {
	if len(ts) == 0 {
		return nil
	}
	if err := s.init(ctx); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	start := time.Now()
	position := s.clock.next()
	since := map[string]int64{} // consent_id -> earliest effective_ns among ts
	var ids, subjects []string
	for _, t := range ts {
		if old, ok := since[t.consentID]; !ok || t.effectiveNS < old {
			if !ok {
				ids = append(ids, t.consentID)
			}
			since[t.consentID] = t.effectiveNS
		}
		subjects = append(subjects, t.subjectID)
	}
	var ledgerRead, verdictsRead atomic.Uint64
	l, err := s.readLedger(readCounting(ctx, &ledgerRead), subjects, ids, nil)
	if err != nil {
		return err
	}
	scope := newReevalScope(l, since)
	affected, err := s.readAffected(readCounting(ctx, &verdictsRead), scope)
	if err != nil {
		return err
	}
	var cols verdictColumns
	now := time.Now().UTC().Truncate(time.Second)
	for _, i := range storeOrder(affected) {
		e := &affected[i]
		ev := l.Evaluate(&e.Event)
		if sameEvaluation(ev, e.stored) {
			continue
		}
		cols.add(e, ev, position, now)
	}
	if err := cols.insert(ctx, s.conn, s.sql.insert, verdictBlockRows); err != nil {
		return err
	}
	s.metrics.observeReevaluation(ledgerRead.Load(), verdictsRead.Load(), cols.len(), time.Since(start))
	return nil
}

// reevalScope says which stored events a set of consent events can change.
type reevalScope struct {
	since    map[string]int64    // consent_id -> earliest new effective_ns
	pairs    map[[2]string]int64 // (subject, recipient) -> earliest new effective_ns of a consent naming it
	subjects []string            // every subject whose rows may hold such an event
	earliest int64               // the earliest of all
}

func newReevalScope(l *partialLedger, since map[string]int64) reevalScope {
	sc := reevalScope{since: since, pairs: map[[2]string]int64{}, earliest: int64(^uint64(0) >> 1)}
	seen := map[string]bool{}
	addSubject := func(s string) {
		if !seen[s] {
			seen[s] = true
			sc.subjects = append(sc.subjects, s)
		}
	}
	for id, eff := range since {
		// A new event of a consent can make it a candidate for a pair it did
		// not name before, from its first state on: for events naming no
		// consent, the scope starts at the consent's earliest effective_at.
		pairEff := eff
		for _, c := range l.byID[id] {
			pairEff = min(pairEff, c.EffectiveAt.UnixNano())
		}
		sc.earliest = min(sc.earliest, pairEff)
		for _, subj := range l.subjectsOf[id] {
			addSubject(subj)
		}
		for _, c := range l.byID[id] {
			addSubject(c.SubjectID)
			p := [2]string{c.SubjectID, c.RecipientID}
			if old, ok := sc.pairs[p]; !ok || pairEff < old {
				sc.pairs[p] = pairEff
			}
		}
	}
	return sc
}

// covers reports whether e is in the scope.
func (sc *reevalScope) covers(e *audit.Event) bool {
	t := e.OccurredAt.UnixNano()
	if e.ConsentID != "" {
		eff, ok := sc.since[e.ConsentID]
		return ok && t >= eff
	}
	eff, ok := sc.pairs[[2]string{e.SubjectID, e.RecipientID}]
	return ok && t >= eff
}

// readAffected reads the stored events in scope with their stored
// verdicts.
func (s *verdictStore) readAffected(ctx context.Context, sc reevalScope) ([]storedEvent, error) {
	var out []storedEvent
	sinceSec := max(sc.earliest/1e9, 0) // occurred_at is a DateTime: never before 1970
	err := queryIDs(ctx, s.conn, s.sql.affected, sc.subjects, func(rs driver.Rows) error {
		var e storedEvent
		var verdict, consentID, detail string
		var missing []string
		if err := scanEvent(rs, &e, &verdict, &consentID, &detail, &missing); err != nil {
			return err
		}
		if e.NeedsConsent() && sc.covers(&e.Event) {
			e.stored = storedVerdictOf(verdict, consentID, detail, missing)
			out = append(out, e)
		}
		return nil
	}, sinceSec, sc.earliest)
	if err != nil {
		return nil, fmt.Errorf("read the verdicts %d consent(s) can change: %w", len(sc.since), err)
	}
	return out, nil
}

// readCounting returns ctx with ClickHouse's progress reports of the
// rows its queries read added to n.
func readCounting(ctx context.Context, n *atomic.Uint64) context.Context {
	return clickhouse.Context(ctx, clickhouse.WithProgress(func(p *clickhouse.Progress) { n.Add(p.Rows) }))
}

// sameEvaluation reports whether two evaluations store the same verdict.
func sameEvaluation(a, b audit.Evaluation) bool {
	return a.Verdict == b.Verdict && a.ConsentID == b.ConsentID && a.Detail == b.Detail &&
		slices.Equal(a.Missing, b.Missing)
}

// storedVerdictOf returns the evaluation stored in a verdict row.
func storedVerdictOf(verdict, consentID, detail string, missing []string) audit.Evaluation {
	if len(missing) == 0 {
		missing = nil
	}
	return audit.Evaluation{Verdict: audit.Verdict(verdict), ConsentID: consentID, Detail: detail, Missing: missing}
}

// recoverStored returns those of the events ids — records a batch found
// already stored — that have no stored verdict, read as first stored. They
// are events a crash or a failed batch left stored without their verdict;
// a resent event whose first copy has its verdict needs nothing.
func (s *verdictStore) recoverStored(ctx context.Context, ids []string) ([]storedEvent, error) {
	have := map[string]bool{}
	err := queryIDs(ctx, s.conn, s.sql.storedIDs, ids, func(rs driver.Rows) error {
		var id string
		if err := rs.Scan(&id); err != nil {
			return err
		}
		have[id] = true
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("look up stored verdicts: %w", err)
	}
	var missing []string
	for _, id := range ids {
		if !have[id] {
			missing = append(missing, id)
		}
	}
	var out []storedEvent
	err = queryIDs(ctx, s.conn, s.sql.eventsByID, missing, func(rs driver.Rows) error {
		var e storedEvent
		if err := scanEvent(rs, &e); err != nil {
			return err
		}
		out = append(out, e)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read %d stored events without a verdict: %w", len(missing), err)
	}
	if len(out) > 0 {
		s.log.Info("stored events without a verdict found; evaluating them", "events", len(out))
	}
	return out, nil
}
