package ingest

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/privaudit/privaudit/audit"
)

// eventViews returns the records held as audit.Events whose strings share
// the batch's memory: valid until the batch is reset, which is after its
// verdicts are stored. Only the fields the verdict rules read are set.
func (r *eventRows) eventViews() []audit.Event {
	evs := make([]audit.Event, r.len())
	cats := r.dataCategories.elems.views(nil, 0, r.dataCategories.elems.len())
	for i := range evs {
		e := &evs[i]
		e.EventID, e.SubjectID, e.Action = r.eventID.value(i), r.subjectID.value(i), r.action.value(i)
		e.RecipientID, e.RecipientType = r.recipientID.value(i), r.recipientType.value(i)
		e.Purpose, e.LegalBasis = r.purpose.value(i), r.legalBasis.value(i)
		e.ConsentID, e.Outcome = r.consentID.value(i), r.outcome.value(i)
		e.OccurredAt = time.Unix(0, r.occurredNS[i]).UTC()
		if lo, hi := r.dataCategories.first(i), r.dataCategories.rows[i]; lo < hi {
			e.DataCategories = cats[lo:hi:hi]
		}
	}
	return evs
}

// verdictCols are the verdict columns of a batch of events, by row.
type verdictCols struct {
	isDisclosure, isViolation  []uint8
	verdict, consentID, detail []string
	missing                    arrCol
	position                   []uint64
	evaluatedAt                []int64
}

// insertVerdicts stores the verdicts res of the records held (res[i] is
// row i's) as one INSERT into access_verdicts, rows in the table's ORDER
// BY, the records' columns sent from the batch's own memory.
func (r *eventRows) insertVerdicts(ctx context.Context, conn driver.Conn, sql string, evs []audit.Event, res []audit.Evaluation, position uint64) error {
	n := r.len()
	var v verdictCols
	now := time.Now().Unix()
	for i := range n {
		ev := &res[i]
		v.isDisclosure = append(v.isDisclosure, boolByte(evs[i].IsDisclosure()))
		v.isViolation = append(v.isViolation, boolByte(ev.Verdict.IsViolation()))
		v.verdict, v.consentID = append(v.verdict, string(ev.Verdict)), append(v.consentID, ev.ConsentID)
		v.detail = append(v.detail, ev.Detail)
		for _, m := range ev.Missing {
			v.missing.elems.addBytes([]byte(m))
		}
		v.missing.endRow()
		v.position, v.evaluatedAt = append(v.position, position), append(v.evaluatedAt, now)
	}
	perm := make([]int32, n)
	for i := range perm {
		perm[i] = int32(i)
	}
	slices.SortFunc(perm, func(a, b int32) int {
		x, y := &evs[a], &evs[b]
		return cmp.Or(strings.Compare(x.SubjectID, y.SubjectID), cmp.Compare(r.occurredNS[a], r.occurredNS[b]),
			strings.Compare(x.EventID, y.EventID))
	})
	ctx = clickhouse.Context(ctx, clickhouse.WithSettings(clickhouse.Settings{"insert_deduplicate": 0}))
	b, err := conn.PrepareBatch(ctx, sql)
	if err != nil {
		return fmt.Errorf("prepare verdict insert: %w", err)
	}
	defer b.Close()
	blk := block{b: b, perm: perm}
	for lo := 0; lo < n; lo += verdictBlockRows {
		blk.lo, blk.hi = lo, min(lo+verdictBlockRows, n)
		err := blk.appendColumns(&r.eventID, r.occurred, r.occurredNS, &r.actorID, &r.actorType,
			&r.subjectID, &r.action, &r.dataCategories, &r.fields, &r.recipientID, &r.recipientType,
			&r.purpose, &r.legalBasis, &r.consentID, &r.outcome, r.recordCount, &r.channel,
			&r.jurisdiction, &r.requestID, &r.attrKeys, &r.attrValues, r.stamp.ingested, r.stamp.seq,
			v.isDisclosure, v.verdict, v.consentID, v.detail, &v.missing, v.isViolation, v.position, v.evaluatedAt)
		if err != nil {
			return err
		}
		if blk.hi < n {
			if err := b.Flush(); err != nil {
				return fmt.Errorf("insert %d verdicts: %w", n, err)
			}
		}
	}
	if err := b.Send(); err != nil {
		return fmt.Errorf("insert %d verdicts: %w", n, err)
	}
	return nil
}
