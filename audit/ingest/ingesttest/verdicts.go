package ingesttest

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/privaudit/privaudit/audit"
)

// VerdictDiff compares the verdict store (access_verdicts FINAL) with the
// in-memory reference evaluator run over the whole stored consent ledger,
// for every stored access event. It returns the number of events checked
// and one line per event whose stored verdict is missing, doubled or
// different. Tests use it where `privaudit verify verdicts` (the SQL
// engine's independent check) is not at hand.
func VerdictDiff(ctx context.Context, conn driver.Conn) (int, []string, error) {
	ledger, err := referenceLedger(ctx, conn)
	if err != nil {
		return 0, nil, err
	}
	stored, err := storedVerdicts(ctx, conn)
	if err != nil {
		return 0, nil, err
	}
	rows, err := conn.Query(ctx, `SELECT event_id, occurred_ns, subject_id, action, data_categories, recipient_id,
		recipient_type, purpose, legal_basis, consent_id, outcome FROM privaudit.access_events FINAL`)
	if err != nil {
		return 0, nil, err
	}
	defer rows.Close()
	n := 0
	var diffs []string
	for rows.Next() {
		var e audit.Event
		var ns int64
		if err := rows.Scan(&e.EventID, &ns, &e.SubjectID, &e.Action, &e.DataCategories, &e.RecipientID,
			&e.RecipientType, &e.Purpose, &e.LegalBasis, &e.ConsentID, &e.Outcome); err != nil {
			return 0, nil, err
		}
		e.OccurredAt = time.Unix(0, ns).UTC()
		n++
		want := ledger.Evaluate(&e)
		got, ok := stored[e.EventID]
		switch {
		case !ok:
			diffs = append(diffs, fmt.Sprintf("event %s: no stored verdict, reference %s", e.EventID, want.Verdict))
		case got.copies > 1:
			diffs = append(diffs, fmt.Sprintf("event %s: %d stored verdicts after FINAL", e.EventID, got.copies))
		case got.Verdict != want.Verdict || got.ConsentID != want.ConsentID || got.Detail != want.Detail ||
			!slices.Equal(got.Missing, want.Missing):
			diffs = append(diffs, fmt.Sprintf("event %s: stored %s %q %q, reference %s %q %q", e.EventID,
				got.Verdict, got.ConsentID, got.Detail, want.Verdict, want.ConsentID, want.Detail))
		}
		delete(stored, e.EventID)
	}
	if err := rows.Err(); err != nil {
		return 0, nil, err
	}
	for id := range stored {
		diffs = append(diffs, fmt.Sprintf("event %s: a stored verdict but no stored access event", id))
	}
	return n, diffs, nil
}

type storedVerdict struct {
	audit.Evaluation
	copies int
}

func storedVerdicts(ctx context.Context, conn driver.Conn) (map[string]storedVerdict, error) {
	rows, err := conn.Query(ctx, "SELECT event_id, verdict, verdict_consent_id, verdict_detail, missing_categories FROM privaudit.access_verdicts FINAL")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]storedVerdict{}
	for rows.Next() {
		var id, verdict string
		var v storedVerdict
		if err := rows.Scan(&id, &verdict, &v.ConsentID, &v.Detail, &v.Missing); err != nil {
			return nil, err
		}
		v.Verdict = audit.Verdict(verdict)
		if len(v.Missing) == 0 {
			v.Missing = nil
		}
		v.copies = out[id].copies + 1
		out[id] = v
	}
	return out, rows.Err()
}

// referenceLedger reads every stored consent event, in stored order, into
// the reference evaluator.
func referenceLedger(ctx context.Context, conn driver.Conn) (*audit.Ledger, error) {
	rows, err := conn.Query(ctx, `SELECT consent_event_id, consent_id, subject_id, recipient_id, status, purposes,
		data_categories, effective_ns, has_expiry, expires_ns FROM privaudit.consent_events FINAL ORDER BY ingest_seq, consent_event_id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	l := &audit.Ledger{}
	for rows.Next() {
		var c audit.Consent
		var eff, exp int64
		var has uint8
		if err := rows.Scan(&c.ConsentEventID, &c.ConsentID, &c.SubjectID, &c.RecipientID, &c.Status, &c.Purposes,
			&c.DataCategories, &eff, &has, &exp); err != nil {
			return nil, err
		}
		c.EffectiveAt = time.Unix(0, eff).UTC()
		if has == 1 {
			x := time.Unix(0, exp).UTC()
			c.ExpiresAt = &x
		}
		l.Add(c)
	}
	return l, rows.Err()
}
