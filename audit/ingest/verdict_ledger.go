package ingest

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/privaudit/privaudit/audit"
)

// partialLedger is the part of the consent ledger that decides a set of
// access events: every consent event of every consent that names one of
// their subjects, or that one of them names (SPEC §3), read from
// ClickHouse by subject.
type partialLedger struct {
	*audit.Ledger
	// byID holds the consent events read, per consent_id.
	byID map[string][]audit.Consent
	// subjectsOf holds, per consent looked up, the subjects whose rows hold
	// it (consent_subjects).
	subjectsOf map[string][]string
}

// ledgerReads bounds the rounds of lookups that complete a partial ledger:
// each round adds the subjects of consents found in the previous one, which
// only a consent whose events name several subjects needs.
const ledgerReads = 4

// readLedger reads the ledger deciding events of subjects and events naming
// the consents named. It reads consent_subjects for the named consents and
// for every consent found that wholly matters (nil: all), so a consent
// whose events name several subjects is read whole.
func (s *verdictStore) readLedger(ctx context.Context, subjects, named []string, matters func(audit.Consent) bool) (*partialLedger, error) {
	l := &partialLedger{byID: map[string][]audit.Consent{}, subjectsOf: map[string][]string{}}
	seenSubject := map[string]bool{}
	var entries []ledgerRow
	lookup := named
	todo := subjects
	for round := 0; round < ledgerReads && (len(lookup) > 0 || len(todo) > 0); round++ {
		if err := s.lookupSubjects(ctx, lookup, l.subjectsOf); err != nil {
			return nil, err
		}
		for _, id := range lookup {
			todo = append(todo, l.subjectsOf[id]...)
		}
		var fresh []string
		for _, subj := range todo {
			if !seenSubject[subj] {
				seenSubject[subj] = true
				fresh = append(fresh, subj)
			}
		}
		before := len(l.byID)
		var err error
		if entries, err = s.readConsents(ctx, fresh, entries, l.byID); err != nil {
			return nil, err
		}
		lookup, todo = lookup[:0:0], nil
		if len(l.byID) == before && round > 0 {
			break
		}
		for id, evs := range l.byID {
			if _, ok := l.subjectsOf[id]; !ok && (matters == nil || slices.ContainsFunc(evs, matters)) {
				lookup = append(lookup, id)
			}
		}
	}
	// Stored order: SPEC §3 breaks a tie of effective_at by the later-stored.
	slices.SortFunc(entries, func(a, b ledgerRow) int {
		if c := cmp.Compare(a.seq, b.seq); c != 0 {
			return c
		}
		return cmp.Compare(a.ConsentEventID, b.ConsentEventID)
	})
	l.Ledger = &audit.Ledger{}
	for i := range entries {
		l.Add(entries[i].Consent)
	}
	return l, nil
}

// ledgerRow is one consent event read with its ingest sequence.
type ledgerRow struct {
	audit.Consent
	seq uint64
}

// lookupSubjects records in into the subjects of each consent of ids.
func (s *verdictStore) lookupSubjects(ctx context.Context, ids []string, into map[string][]string) error {
	for _, id := range ids {
		if _, ok := into[id]; !ok {
			into[id] = nil
		}
	}
	err := queryIDs(ctx, s.conn, s.sql.subjects, ids, func(rs driver.Rows) error {
		var id, subj string
		if err := rs.Scan(&id, &subj); err != nil {
			return err
		}
		into[id] = append(into[id], subj)
		return nil
	})
	if err != nil {
		return fmt.Errorf("look up consents' subjects: %w", err)
	}
	return nil
}

// readConsents appends the consent events of subjects to entries and byID.
func (s *verdictStore) readConsents(ctx context.Context, subjects []string, entries []ledgerRow, byID map[string][]audit.Consent) ([]ledgerRow, error) {
	err := queryIDs(ctx, s.conn, s.sql.ledger, subjects, func(rs driver.Rows) error {
		var r ledgerRow
		var effNS, expNS int64
		var hasExpiry uint8
		if err := rs.Scan(&r.ConsentEventID, &r.ConsentID, &r.SubjectID, &r.RecipientID, &r.Status, &r.Purposes,
			&r.DataCategories, &effNS, &hasExpiry, &expNS, &r.seq); err != nil {
			return err
		}
		r.EffectiveAt = time.Unix(0, effNS).UTC()
		if hasExpiry == 1 {
			exp := time.Unix(0, expNS).UTC()
			r.ExpiresAt = &exp
		}
		entries = append(entries, r)
		byID[r.ConsentID] = append(byID[r.ConsentID], r.Consent)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read the consent ledger of %d subjects: %w", len(subjects), err)
	}
	return entries, nil
}
