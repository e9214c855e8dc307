package ingest

import (
	"fmt"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/privaudit/privaudit/audit"
)

// rows is one kind's pending records between the spool and ClickHouse.
type rows interface {
	// add decodes one spool payload and appends its records.
	add(p payload) error
	// len is the number of records held.
	len() int
	// key is the idempotency key of record i.
	key(i int) string
	// appendTo appends the records whose keep[i] is true to a prepared batch,
	// column by column, and returns how many it appended.
	appendTo(b driver.Batch, keep []bool, batchID string) (int, error)
	reset()
}

type eventRows struct{ recs []stamped[audit.Event] }

type stamped[T any] struct {
	rec T
	seq uint64 // ingest sequence: Unix nanoseconds of acceptance, strictly increasing
}

func (r *eventRows) add(p payload) error {
	evs, err := audit.DecodeEventsBinary(p.records)
	if err != nil {
		return fmt.Errorf("decode spooled events: %w", err)
	}
	for i := range evs {
		r.recs = append(r.recs, stamped[audit.Event]{evs[i], p.seq + uint64(i)})
	}
	return nil
}

func (r *eventRows) len() int         { return len(r.recs) }
func (r *eventRows) key(i int) string { return r.recs[i].rec.EventID }
func (r *eventRows) reset()           { clear(r.recs); r.recs = r.recs[:0] }

func (r *eventRows) appendTo(b driver.Batch, keep []bool, batchID string) (int, error) {
	n := 0
	c := newCols("stissssaassssssusssaatus", len(r.recs))
	for i := range r.recs {
		if !keep[i] {
			continue
		}
		n++
		e, seq := &r.recs[i].rec, r.recs[i].seq
		c.str(0, e.EventID)
		c.time(1, e.OccurredAt)
		c.i64(2, e.OccurredAt.UnixNano())
		c.str(3, e.ActorID)
		c.str(4, e.ActorType)
		c.str(5, e.SubjectID)
		c.str(6, e.Action)
		c.arr(7, e.DataCategories)
		c.arr(8, e.Fields)
		c.str(9, e.RecipientID)
		c.str(10, e.RecipientType)
		c.str(11, e.Purpose)
		c.str(12, e.LegalBasis)
		c.str(13, e.ConsentID)
		c.str(14, e.Outcome)
		c.u64(15, e.RecordCount)
		c.str(16, e.Channel)
		c.str(17, e.Jurisdiction)
		c.str(18, e.RequestID)
		c.arr(19, e.AttrKeys)
		c.arr(20, e.AttrValues)
		c.time(21, time.Unix(0, int64(seq)))
		c.u64(22, seq)
		c.str(23, batchID)
	}
	return n, c.appendTo(b)
}

type consentRows struct{ recs []stamped[audit.Consent] }

func (r *consentRows) add(p payload) error {
	cs, err := audit.DecodeConsentsBinary(p.records)
	if err != nil {
		return fmt.Errorf("decode spooled consents: %w", err)
	}
	for i := range cs {
		r.recs = append(r.recs, stamped[audit.Consent]{cs[i], p.seq + uint64(i)})
	}
	return nil
}

func (r *consentRows) len() int         { return len(r.recs) }
func (r *consentRows) key(i int) string { return r.recs[i].rec.ConsentEventID }
func (r *consentRows) reset()           { clear(r.recs); r.recs = r.recs[:0] }

func (r *consentRows) appendTo(b driver.Batch, keep []bool, batchID string) (int, error) {
	n := 0
	c := newCols("sssssaatibtissssaatus", len(r.recs))
	for i := range r.recs {
		if !keep[i] {
			continue
		}
		n++
		e, seq := &r.recs[i].rec, r.recs[i].seq
		c.str(0, e.ConsentEventID)
		c.str(1, e.ConsentID)
		c.str(2, e.SubjectID)
		c.str(3, e.RecipientID)
		c.str(4, e.Status)
		c.arr(5, e.Purposes)
		c.arr(6, e.DataCategories)
		c.time(7, e.EffectiveAt)
		c.i64(8, e.EffectiveAt.UnixNano())
		var exp time.Time
		var has uint8
		if e.ExpiresAt != nil {
			exp, has = *e.ExpiresAt, 1
		} else {
			exp = time.Unix(0, 0).UTC()
		}
		c.u8(9, has)
		c.time(10, exp)
		c.i64(11, exp.UnixNano()*int64(has))
		c.str(12, e.Method)
		c.str(13, e.NoticeVersion)
		c.str(14, e.Jurisdiction)
		c.str(15, e.ProofSHA256)
		c.arr(16, e.AttrKeys)
		c.arr(17, e.AttrValues)
		c.time(18, time.Unix(0, int64(seq)))
		c.u64(19, seq)
		c.str(20, batchID)
	}
	return n, c.appendTo(b)
}

// cols accumulates typed column slices so a batch is appended column-wise,
// the fast path of clickhouse-go, without boxing a value per cell.
type cols struct {
	kinds []byte // per column: 's' string, 'a' array, 't' time, 'i' int64, 'u' uint64, 'b' uint8
	strs  [][]string
	arrs  [][][]string
	times [][]time.Time
	i64s  [][]int64
	u64s  [][]uint64
	u8s   [][]uint8
	slot  []int // column → index in its kind's slice
}

func newCols(kinds string, capacity int) *cols {
	c := &cols{kinds: []byte(kinds), slot: make([]int, len(kinds))}
	for i, k := range c.kinds {
		switch k {
		case 's':
			c.slot[i] = len(c.strs)
			c.strs = append(c.strs, make([]string, 0, capacity))
		case 'a':
			c.slot[i] = len(c.arrs)
			c.arrs = append(c.arrs, make([][]string, 0, capacity))
		case 't':
			c.slot[i] = len(c.times)
			c.times = append(c.times, make([]time.Time, 0, capacity))
		case 'i':
			c.slot[i] = len(c.i64s)
			c.i64s = append(c.i64s, make([]int64, 0, capacity))
		case 'u':
			c.slot[i] = len(c.u64s)
			c.u64s = append(c.u64s, make([]uint64, 0, capacity))
		case 'b':
			c.slot[i] = len(c.u8s)
			c.u8s = append(c.u8s, make([]uint8, 0, capacity))
		}
	}
	return c
}

func (c *cols) str(i int, v string)     { c.strs[c.slot[i]] = append(c.strs[c.slot[i]], v) }
func (c *cols) time(i int, v time.Time) { c.times[c.slot[i]] = append(c.times[c.slot[i]], v) }
func (c *cols) i64(i int, v int64)      { c.i64s[c.slot[i]] = append(c.i64s[c.slot[i]], v) }
func (c *cols) u64(i int, v uint64)     { c.u64s[c.slot[i]] = append(c.u64s[c.slot[i]], v) }
func (c *cols) u8(i int, v uint8)       { c.u8s[c.slot[i]] = append(c.u8s[c.slot[i]], v) }
func (c *cols) arr(i int, v []string) {
	if v == nil {
		v = []string{}
	}
	c.arrs[c.slot[i]] = append(c.arrs[c.slot[i]], v)
}

func (c *cols) appendTo(b driver.Batch) error {
	for i, k := range c.kinds {
		var col any
		switch k {
		case 's':
			col = c.strs[c.slot[i]]
		case 'a':
			col = c.arrs[c.slot[i]]
		case 't':
			col = c.times[c.slot[i]]
		case 'i':
			col = c.i64s[c.slot[i]]
		case 'u':
			col = c.u64s[c.slot[i]]
		case 'b':
			col = c.u8s[c.slot[i]]
		}
		if err := b.Column(i).Append(col); err != nil {
			return fmt.Errorf("append column %d: %w", i, err)
		}
	}
	return nil
}
