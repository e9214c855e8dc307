package ingest

import (
	"context"
	"crypto/sha256"
	"slices"
	"time"

	"github.com/privaudit/privaudit/audit"
)

// leafScratch is reused from batch to batch by one rows buffer.
type leafScratch struct {
	leaves []logLeaf
	hasher audit.LeafHasher
	hashes []byte // the leaves' hashes, back to back
	ev     audit.StoredEvent
	co     audit.StoredConsent
}

// reset empties s for n leaves.
func (s *leafScratch) reset(n int) {
	s.leaves = slices.Grow(s.leaves[:0], n)
	s.hashes = slices.Grow(s.hashes[:0], n*sha256.Size)
}

// add appends a leaf whose hash is sum; the leaf's hash shares s's memory,
// so it is valid until the next reset.
func (s *leafScratch) add(lf logLeaf, sum [sha256.Size]byte) {
	at := len(s.hashes)
	s.hashes = append(s.hashes, sum[:]...)
	lf.hash = s.hashes[at:len(s.hashes):len(s.hashes)]
	s.leaves = append(s.leaves, lf)
}

// row returns row r of a as views sharing the arena's memory, in dst.
func (a *arrCol) rowViews(dst []string, r int) []string {
	dst = dst[:0]
	for j := a.first(r); j < a.rows[r]; j++ {
		dst = append(dst, a.elems.value(j))
	}
	return dst
}

// logLeaves returns the leaves of the prepared records, in buffer (ingest)
// order, encoded from the values exactly as appendTo stores them.
func (r *eventRows) logLeaves() []logLeaf {
	s := &r.leafs
	s.reset(r.len())
	for i := range r.len() {
		e := r.storedAt(i)
		s.add(logLeaf{kind: audit.KindEvents, key: e.EventID, batchID: e.BatchID, seq: e.IngestSeq}, s.hasher.Event(e))
	}
	return s.leaves
}

// leafAt returns the leaf hash of prepared record i as if accepted at seq
// and stored in batch batchID.
func (r *eventRows) leafAt(i int, seq uint64, batchID string) [sha256.Size]byte {
	e := r.storedAt(i)
	e.IngestSeq, e.IngestedAt, e.BatchID = seq, time.Unix(int64(seq/1e9), 0), batchID
	return r.leafs.hasher.Event(e)
}

// storedAt returns prepared record i as appendTo stores it, in the
// scratch record (valid until the next call).
func (r *eventRows) storedAt(i int) *audit.StoredEvent {
	e := &r.leafs.ev
	e.EventID, e.OccurredAt, e.OccurredNS = r.eventID.value(i), time.Unix(r.occurred[i], 0), r.occurredNS[i]
	e.ActorID, e.ActorType, e.SubjectID, e.Action = r.actorID.value(i), r.actorType.value(i), r.subjectID.value(i), r.action.value(i)
	e.DataCategories, e.Fields = r.dataCategories.rowViews(e.DataCategories, i), r.fields.rowViews(e.Fields, i)
	e.RecipientID, e.RecipientType, e.Purpose = r.recipientID.value(i), r.recipientType.value(i), r.purpose.value(i)
	e.LegalBasis, e.ConsentID, e.Outcome = r.legalBasis.value(i), r.consentID.value(i), r.outcome.value(i)
	e.RecordCount, e.Channel, e.Jurisdiction, e.RequestID = r.recordCount[i], r.channel.value(i), r.jurisdiction.value(i), r.requestID.value(i)
	e.AttrKeys, e.AttrValues = r.attrKeys.rowViews(e.AttrKeys, i), r.attrValues.rowViews(e.AttrValues, i)
	e.IngestedAt, e.IngestSeq, e.BatchID = time.Unix(r.stamp.ingested[i], 0), r.stamp.seq[i], r.stamp.batch[i]
	return e
}

// logLeaves: as eventRows.logLeaves.
func (r *consentRows) logLeaves() []logLeaf {
	s := &r.leafs
	s.reset(r.len())
	for i := range r.len() {
		c := r.storedAt(i)
		s.add(logLeaf{kind: audit.KindConsents, key: c.ConsentEventID, batchID: c.BatchID, seq: c.IngestSeq}, s.hasher.Consent(c))
	}
	return s.leaves
}

// leafAt: as eventRows.leafAt.
func (r *consentRows) leafAt(i int, seq uint64, batchID string) [sha256.Size]byte {
	c := r.storedAt(i)
	c.IngestSeq, c.IngestedAt, c.BatchID = seq, time.Unix(int64(seq/1e9), 0), batchID
	return r.leafs.hasher.Consent(c)
}

// storedAt: as eventRows.storedAt.
func (r *consentRows) storedAt(i int) *audit.StoredConsent {
	c := &r.leafs.co
	c.ConsentEventID, c.ConsentID, c.SubjectID = r.consentEventID.value(i), r.consentID.value(i), r.subjectID.value(i)
	c.RecipientID, c.Status = r.recipientID.value(i), r.status.value(i)
	c.Purposes, c.DataCategories = r.purposes.rowViews(c.Purposes, i), r.dataCategories.rowViews(c.DataCategories, i)
	c.EffectiveAt, c.EffectiveNS, c.HasExpiry = time.Unix(r.effective[i], 0), r.effectiveNS[i], r.hasExpiry[i]
	c.ExpiresAt, c.ExpiresNS = time.Unix(r.expires[i], 0), r.expiresNS[i]
	c.Method, c.NoticeVersion, c.Jurisdiction, c.ProofSHA256 = r.method.value(i), r.noticeVersion.value(i), r.jurisdiction.value(i), r.proofSHA256.value(i)
	c.AttrKeys, c.AttrValues = r.attrKeys.rowViews(c.AttrKeys, i), r.attrValues.rowViews(c.AttrValues, i)
	c.IngestedAt, c.IngestSeq, c.BatchID = time.Unix(r.stamp.ingested[i], 0), r.stamp.seq[i], r.stamp.batch[i]
	return c
}

// readyLog recovers the proof log if it is dirty (see ProofLog).
func (w *Writer) readyLog(ctx context.Context) error {
	if w.o.Log == nil {
		return nil
	}
	return w.o.Log.Ready(ctx)
}

// insertLogged inserts buf and appends its records to the proof log in the
// same step: a failure anywhere between leaves the log dirty, so it
// recovers before the next batch (see ProofLog).
func (w *Writer) insertLogged(ctx context.Context, buf rows, batchID string) (int, error) {
	l := w.o.Log
	if l == nil {
		return w.insert(ctx, buf, batchID)
	}
	end := l.begin()
	inserted, err := w.insert(ctx, buf, batchID)
	if hook := l.afterInsert.Load(); err == nil && hook != nil {
		err = (*hook)()
	}
	if err == nil && inserted > 0 {
		err = l.append(ctx, buf.logLeaves())
	}
	end(err)
	return inserted, err
}
