package ingest

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/ext"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/privaudit/privaudit/audit"
)

// storedEvent is an access event as stored, with its ingest sequence and,
// when read back from the verdict store, the verdict stored for it.
type storedEvent struct {
	audit.Event
	seq    uint64
	stored audit.Evaluation
}

// str returns value i of c as a string of its own.
func (c *strCol) str(i int) string { return string(c.buf[c.start(i):c.ends[i]]) }

// consentTouch is what a consent batch tells the verdict store: a consent
// event of consent_id, for subject_id, effective from effectiveNS.
type consentTouch struct {
	consentID, subjectID string
	effectiveNS          int64
}

// touches returns the consent events held, as consentTouch values.
func (r *consentRows) touches() []consentTouch {
	out := make([]consentTouch, r.len())
	for i := range out {
		out[i] = consentTouch{consentID: r.consentID.str(i), subjectID: r.subjectID.str(i), effectiveNS: r.effectiveNS[i]}
	}
	return out
}

// idTable returns the external table lookup_ids holding ids, for the
// queries/ingest/verdict_*.sql statements.
func idTable(ids []string) (clickhouse.QueryOption, error) {
	tbl, err := ext.NewTable("lookup_ids", ext.Column("id", "String"))
	if err != nil {
		return nil, err
	}
	if _, err := tbl.Block().Columns[0].Append(ids); err != nil {
		return nil, fmt.Errorf("id table: %w", err)
	}
	return clickhouse.WithExternalTable(tbl), nil
}

// queryIDs runs sql with ids as the external table lookup_ids and calls
// scan for each row.
func queryIDs(ctx context.Context, conn driver.Conn, sql string, ids []string, scan func(driver.Rows) error, args ...any) error {
	if len(ids) == 0 {
		return nil
	}
	opt, err := idTable(ids)
	if err != nil {
		return err
	}
	rs, err := conn.Query(clickhouse.Context(ctx, opt), sql, args...)
	if err != nil {
		return err
	}
	defer rs.Close()
	for rs.Next() {
		if err := scan(rs); err != nil {
			return err
		}
	}
	return rs.Err()
}

// scanEvent reads the event columns of queries/ingest/verdict_events_by_id.sql
// (and the leading columns of verdict_affected.sql) into e, followed by
// extra destinations.
func scanEvent(rs driver.Rows, e *storedEvent, extra ...any) error {
	var occNS int64
	dst := append([]any{&e.EventID, &occNS, &e.ActorID, &e.ActorType, &e.SubjectID, &e.Action,
		&e.DataCategories, &e.Fields, &e.RecipientID, &e.RecipientType, &e.Purpose, &e.LegalBasis,
		&e.ConsentID, &e.Outcome, &e.RecordCount, &e.Channel, &e.Jurisdiction, &e.RequestID,
		&e.AttrKeys, &e.AttrValues, &e.seq}, extra...)
	if err := rs.Scan(dst...); err != nil {
		return err
	}
	e.OccurredAt = time.Unix(0, occNS).UTC()
	return nil
}

// verdictColumns are the columns of one access_verdicts insert, in the
// order of queries/ingest/insert_verdicts.sql.
type verdictColumns struct {
	eventID, actorID, actorType, subjectID, action, recipientID, recipientType, purpose, legalBasis,
	consentID, outcome, channel, jurisdiction, requestID, verdict, verdictConsentID, verdictDetail []string
	dataCategories, fields, attrKeys, attrValues, missing [][]string
	occurredAt, ingestedAt, evaluatedAt                   []time.Time
	occurredNS                                            []int64
	recordCount, ingestSeq, position                      []uint64
	isDisclosure, isViolation                             []uint8
}

func (c *verdictColumns) add(e *storedEvent, ev audit.Evaluation, position uint64, now time.Time) {
	c.eventID = append(c.eventID, e.EventID)
	c.occurredAt = append(c.occurredAt, e.OccurredAt.Truncate(time.Second))
	c.occurredNS = append(c.occurredNS, e.OccurredAt.UnixNano())
	c.actorID, c.actorType = append(c.actorID, e.ActorID), append(c.actorType, e.ActorType)
	c.subjectID, c.action = append(c.subjectID, e.SubjectID), append(c.action, e.Action)
	c.dataCategories, c.fields = append(c.dataCategories, nonNil(e.DataCategories)), append(c.fields, nonNil(e.Fields))
	c.recipientID, c.recipientType = append(c.recipientID, e.RecipientID), append(c.recipientType, e.RecipientType)
	c.purpose, c.legalBasis = append(c.purpose, e.Purpose), append(c.legalBasis, e.LegalBasis)
	c.consentID, c.outcome = append(c.consentID, e.ConsentID), append(c.outcome, e.Outcome)
	c.recordCount, c.channel = append(c.recordCount, e.RecordCount), append(c.channel, e.Channel)
	c.jurisdiction, c.requestID = append(c.jurisdiction, e.Jurisdiction), append(c.requestID, e.RequestID)
	c.attrKeys, c.attrValues = append(c.attrKeys, nonNil(e.AttrKeys)), append(c.attrValues, nonNil(e.AttrValues))
	c.ingestedAt = append(c.ingestedAt, time.Unix(int64(e.seq/1e9), 0).UTC())
	c.ingestSeq = append(c.ingestSeq, e.seq)
	c.isDisclosure = append(c.isDisclosure, boolByte(e.IsDisclosure()))
	c.verdict = append(c.verdict, string(ev.Verdict))
	c.verdictConsentID = append(c.verdictConsentID, ev.ConsentID)
	c.verdictDetail = append(c.verdictDetail, ev.Detail)
	c.missing = append(c.missing, nonNil(ev.Missing))
	c.isViolation = append(c.isViolation, boolByte(ev.Verdict.IsViolation()))
	c.position = append(c.position, position)
	c.evaluatedAt = append(c.evaluatedAt, now)
}

func (c *verdictColumns) len() int { return len(c.eventID) }

func (c *verdictColumns) all() []any {
	return []any{c.eventID, c.occurredAt, c.occurredNS, c.actorID, c.actorType, c.subjectID, c.action,
		c.dataCategories, c.fields, c.recipientID, c.recipientType, c.purpose, c.legalBasis, c.consentID,
		c.outcome, c.recordCount, c.channel, c.jurisdiction, c.requestID, c.attrKeys, c.attrValues,
		c.ingestedAt, c.ingestSeq, c.isDisclosure, c.verdict, c.verdictConsentID, c.verdictDetail,
		c.missing, c.isViolation, c.position, c.evaluatedAt}
}

// insert writes the columns as one INSERT, in blocks of blockRows rows
// appended column by column, so the driver's column buffers stay small
// and are reused from block to block.
func (c *verdictColumns) insert(ctx context.Context, conn driver.Conn, sql string, blockRows int) error {
	n := c.len()
	if n == 0 {
		return nil
	}
	ctx = clickhouse.Context(ctx, clickhouse.WithSettings(clickhouse.Settings{"insert_deduplicate": 0}))
	b, err := conn.PrepareBatch(ctx, sql)
	if err != nil {
		return fmt.Errorf("prepare verdict insert: %w", err)
	}
	defer b.Close()
	cols := c.all()
	for lo := 0; lo < n; lo += blockRows {
		hi := min(lo+blockRows, n)
		for i, col := range cols {
			if err := b.Column(i).Append(sliceOf(col, lo, hi)); err != nil {
				return fmt.Errorf("verdict column %d: %w", i, err)
			}
		}
		if hi < n {
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

// sliceOf returns rows [lo, hi) of one of verdictColumns' columns.
func sliceOf(col any, lo, hi int) any {
	switch v := col.(type) {
	case []string:
		return v[lo:hi]
	case [][]string:
		return v[lo:hi]
	case []time.Time:
		return v[lo:hi]
	case []int64:
		return v[lo:hi]
	case []uint64:
		return v[lo:hi]
	case []uint8:
		return v[lo:hi]
	}
	panic(fmt.Sprintf("verdict column of type %T", col))
}

// grow makes room for n more rows in every column.
func (c *verdictColumns) grow(n int) {
	for _, p := range []*[]string{&c.eventID, &c.actorID, &c.actorType, &c.subjectID, &c.action, &c.recipientID,
		&c.recipientType, &c.purpose, &c.legalBasis, &c.consentID, &c.outcome, &c.channel, &c.jurisdiction,
		&c.requestID, &c.verdict, &c.verdictConsentID, &c.verdictDetail} {
		*p = slices.Grow(*p, n)
	}
	for _, p := range []*[][]string{&c.dataCategories, &c.fields, &c.attrKeys, &c.attrValues, &c.missing} {
		*p = slices.Grow(*p, n)
	}
	for _, p := range []*[]time.Time{&c.occurredAt, &c.ingestedAt, &c.evaluatedAt} {
		*p = slices.Grow(*p, n)
	}
	c.occurredNS = slices.Grow(c.occurredNS, n)
	for _, p := range []*[]uint64{&c.recordCount, &c.ingestSeq, &c.position} {
		*p = slices.Grow(*p, n)
	}
	c.isDisclosure, c.isViolation = slices.Grow(c.isDisclosure, n), slices.Grow(c.isViolation, n)
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func boolByte(b bool) uint8 {
	if b {
		return 1
	}
	return 0
}
