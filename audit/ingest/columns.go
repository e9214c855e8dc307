package ingest

import (
	"crypto/sha256"
	"fmt"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// rows is one kind's pending records between the spool and ClickHouse,
// held column by column.
type rows interface {
	// add decodes one spool payload and appends its records.
	add(p payload) error
	// reserve makes room for n records in all, sized like those added so far.
	reserve(n int)
	// len is the number of records held.
	len() int
	// keys returns the records' idempotency keys, in order, valid until the
	// next call (keepOnly and reset leave them unchanged).
	keys() []string
	// keepOnly drops the records whose keep[i] is false.
	keepOnly(keep []bool)
	// prepare readies the records for appendTo, stamping them with batchID.
	prepare(batchID string)
	// appendTo appends records [lo, hi) to a prepared batch, column by column.
	appendTo(b driver.Batch, lo, hi int) error
	reset()
	// logLeaves returns the proof log leaves of the prepared records.
	logLeaves() []logLeaf
	// leafAt returns the leaf hash of prepared record i as if accepted at
	// seq and stored in batch batchID.
	leafAt(i int, seq uint64, batchID string) [sha256.Size]byte
}

// stampCols are the columns privaudit adds to every record: when it was
// ingested and in which batch.
type stampCols struct {
	seq      []uint64 // ingest sequence: Unix nanoseconds of acceptance, strictly increasing
	ingested []int64  // scratch: ingested_at seconds
	batch    []string // scratch: batch_id per row
}

func (s *stampCols) add(p payload, n int) {
	for i := range n {
		s.seq = append(s.seq, p.seq+uint64(i))
	}
}

// fill prepares the scratch columns for the records being appended.
func (s *stampCols) fill(batchID string) {
	s.ingested = s.ingested[:0]
	for _, v := range s.seq {
		s.ingested = append(s.ingested, int64(v/1e9))
	}
	s.batch = repeat(s.batch, batchID, len(s.seq))
}

func (s *stampCols) reset() { s.seq = s.seq[:0] }

type eventRows struct {
	eventID, actorID, actorType, subjectID, action, recipientID, recipientType,
	purpose, legalBasis, consentID, outcome, channel, jurisdiction, requestID strCol
	dataCategories, fields, attrKeys, attrValues arrCol
	occurredNS                                   []int64
	occurred                                     []int64 // scratch: occurred_at seconds
	recordCount                                  []uint64
	stamp                                        stampCols
	keyVals                                      []string
	keyBuf                                       []byte // keyVals' memory
	blk                                          block
	ranks                                        []uint32 // scratch: recipient ranks
	sorting                                      sortScratch
	leafs                                        leafScratch
}

func (r *eventRows) strCols() []*strCol {
	return []*strCol{&r.eventID, &r.actorID, &r.actorType, &r.subjectID, &r.action, &r.recipientID, &r.recipientType,
		&r.purpose, &r.legalBasis, &r.consentID, &r.outcome, &r.channel, &r.jurisdiction, &r.requestID}
}

func (r *eventRows) arrCols() []*arrCol {
	return []*arrCol{&r.dataCategories, &r.fields, &r.attrKeys, &r.attrValues}
}

func (r *eventRows) add(p payload) error {
	d := binDecoder{b: p.records}
	n := d.header(binKindEvents)
	for i := 0; i < n && d.err == nil; i++ {
		d.event(r)
	}
	if d.end(); d.err != nil {
		return fmt.Errorf("decode spooled events: %w", d.err)
	}
	r.stamp.add(p, n)
	return nil
}

func (r *eventRows) reserve(n int) {
	for _, c := range r.strCols() {
		c.reserve(n)
	}
	for _, a := range r.arrCols() {
		a.reserve(n)
	}
	r.occurredNS, r.recordCount, r.stamp.seq = grow(r.occurredNS, n), grow(r.recordCount, n), grow(r.stamp.seq, n)
}

func (r *eventRows) len() int { return len(r.stamp.seq) }
func (r *eventRows) keys() []string {
	r.keyVals = r.eventID.copies(r.keyVals, &r.keyBuf)
	return r.keyVals
}

func (r *eventRows) keepOnly(keep []bool) {
	for _, c := range r.strCols() {
		c.keepOnly(keep)
	}
	for _, a := range r.arrCols() {
		a.keepOnly(keep)
	}
	r.occurredNS = compact(r.occurredNS, keep)
	r.recordCount = compact(r.recordCount, keep)
	r.stamp.seq = compact(r.stamp.seq, keep)
}

func (r *eventRows) reset() {
	for _, c := range r.strCols() {
		c.reset()
	}
	for _, a := range r.arrCols() {
		a.reset()
	}
	r.occurredNS, r.recordCount = r.occurredNS[:0], r.recordCount[:0]
	r.stamp.reset()
	clear(r.keyVals)
}

// prepare also orders the records by the table's ORDER BY (recipient_id,
// occurred_at, event_id); see order.go.
func (r *eventRows) prepare(batchID string) {
	r.occurred = seconds(r.occurred, r.occurredNS)
	r.stamp.fill(batchID)
	r.ranks = rankValues(r.ranks, &r.recipientID)
	r.blk.perm = sortByRankSecondID(r.blk.perm, &r.sorting, r.ranks, r.occurred, &r.eventID)
}

// appendTo appends the columns in the order of queries/ingest/insert_events.sql.
func (r *eventRows) appendTo(b driver.Batch, lo, hi int) error {
	r.blk.b, r.blk.lo, r.blk.hi = b, lo, hi
	defer func() { r.blk.b = nil }()
	return r.blk.appendColumns(&r.eventID, r.occurred, r.occurredNS, &r.actorID, &r.actorType,
		&r.subjectID, &r.action, &r.dataCategories, &r.fields, &r.recipientID, &r.recipientType,
		&r.purpose, &r.legalBasis, &r.consentID, &r.outcome, r.recordCount, &r.channel,
		&r.jurisdiction, &r.requestID, &r.attrKeys, &r.attrValues, r.stamp.ingested, r.stamp.seq, r.stamp.batch)
}

type consentRows struct {
	consentEventID, consentID, subjectID, recipientID, status,
	method, noticeVersion, jurisdiction, proofSHA256 strCol
	purposes, dataCategories, attrKeys, attrValues arrCol
	effectiveNS, expiresNS                         []int64
	effective, expires                             []int64 // scratch: DateTime seconds
	hasExpiry                                      []uint8
	stamp                                          stampCols
	keyVals                                        []string
	keyBuf                                         []byte // keyVals' memory
	blk                                            block
	leafs                                          leafScratch
}

func (r *consentRows) strCols() []*strCol {
	return []*strCol{&r.consentEventID, &r.consentID, &r.subjectID, &r.recipientID, &r.status,
		&r.method, &r.noticeVersion, &r.jurisdiction, &r.proofSHA256}
}

func (r *consentRows) arrCols() []*arrCol {
	return []*arrCol{&r.purposes, &r.dataCategories, &r.attrKeys, &r.attrValues}
}

func (r *consentRows) add(p payload) error {
	d := binDecoder{b: p.records}
	n := d.header(binKindConsents)
	for i := 0; i < n && d.err == nil; i++ {
		d.consent(r)
	}
	if d.end(); d.err != nil {
		return fmt.Errorf("decode spooled consents: %w", d.err)
	}
	r.stamp.add(p, n)
	return nil
}

func (r *consentRows) reserve(n int) {
	for _, c := range r.strCols() {
		c.reserve(n)
	}
	for _, a := range r.arrCols() {
		a.reserve(n)
	}
	r.effectiveNS, r.expiresNS, r.hasExpiry = grow(r.effectiveNS, n), grow(r.expiresNS, n), grow(r.hasExpiry, n)
	r.stamp.seq = grow(r.stamp.seq, n)
}

func (r *consentRows) len() int { return len(r.stamp.seq) }
func (r *consentRows) keys() []string {
	r.keyVals = r.consentEventID.copies(r.keyVals, &r.keyBuf)
	return r.keyVals
}

func (r *consentRows) keepOnly(keep []bool) {
	for _, c := range r.strCols() {
		c.keepOnly(keep)
	}
	for _, a := range r.arrCols() {
		a.keepOnly(keep)
	}
	r.effectiveNS = compact(r.effectiveNS, keep)
	r.expiresNS = compact(r.expiresNS, keep)
	r.hasExpiry = compact(r.hasExpiry, keep)
	r.stamp.seq = compact(r.stamp.seq, keep)
}

func (r *consentRows) reset() {
	for _, c := range r.strCols() {
		c.reset()
	}
	for _, a := range r.arrCols() {
		a.reset()
	}
	r.effectiveNS, r.expiresNS, r.hasExpiry = r.effectiveNS[:0], r.expiresNS[:0], r.hasExpiry[:0]
	r.stamp.reset()
	clear(r.keyVals)
}

func (r *consentRows) prepare(batchID string) {
	r.effective = seconds(r.effective, r.effectiveNS)
	r.expires = seconds(r.expires, r.expiresNS)
	r.stamp.fill(batchID)
}

// appendTo appends the columns in the order of queries/ingest/insert_consents.sql.
func (r *consentRows) appendTo(b driver.Batch, lo, hi int) error {
	r.blk.b, r.blk.lo, r.blk.hi = b, lo, hi
	defer func() { r.blk.b = nil }()
	return r.blk.appendColumns(&r.consentEventID, &r.consentID, &r.subjectID, &r.recipientID,
		&r.status, &r.purposes, &r.dataCategories, r.effective, r.effectiveNS, r.hasExpiry, r.expires,
		r.expiresNS, &r.method, &r.noticeVersion, &r.jurisdiction, &r.proofSHA256,
		&r.attrKeys, &r.attrValues, r.stamp.ingested, r.stamp.seq, r.stamp.batch)
}
