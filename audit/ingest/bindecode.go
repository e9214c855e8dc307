package ingest

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// The spool holds records in the audit package's binary codec (see
// audit.BinaryVersion for the format). The writer reads that codec straight
// into its column buffers instead of building audit.Event values first:
// each string's bytes are copied once, from the payload into its column's
// arena. TestBinDecoderMatchesAudit checks this reader against the audit
// package's own decoder, field by field.
const (
	binVersion      byte = 1 // the audit.BinaryVersion this reader understands
	binKindEvents   byte = 'E'
	binKindConsents byte = 'C'
)

var errBinCorrupt = errors.New("corrupt spooled batch")

// binDecoder reads one encoded batch. Its first error is kept in err and
// later reads return zero values.
type binDecoder struct {
	b   []byte
	pos int
	err error
}

func (d *binDecoder) fail(what string) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: %s at byte %d", errBinCorrupt, what, d.pos)
	}
	d.pos = len(d.b)
}

// header reads the batch header and returns the record count.
func (d *binDecoder) header(kind byte) int {
	if len(d.b) < 2 {
		d.fail("truncated header")
		return 0
	}
	if d.b[0] != binVersion {
		d.err = fmt.Errorf("%w: codec version %d, this privaudit reads %d", errBinCorrupt, d.b[0], binVersion)
		return 0
	}
	if d.b[1] != kind {
		d.fail(fmt.Sprintf("batch kind %q, want %q", d.b[1], kind))
		return 0
	}
	d.pos = 2
	n := d.uvarint()
	if n > uint64(len(d.b)-d.pos) { // every record takes more than a byte
		d.fail("record count too large for the batch")
		return 0
	}
	return int(n)
}

// end fails unless the whole batch was read.
func (d *binDecoder) end() {
	if d.err == nil && d.pos != len(d.b) {
		d.fail("trailing data")
	}
}

func (d *binDecoder) uvarint() uint64 {
	if d.pos < len(d.b) && d.b[d.pos] < 0x80 { // one byte: most lengths
		d.pos++
		return uint64(d.b[d.pos-1])
	}
	v, n := binary.Uvarint(d.b[d.pos:])
	if n <= 0 {
		d.fail("bad varint")
		return 0
	}
	d.pos += n
	return v
}

// bytes returns the next length-prefixed string's bytes.
func (d *binDecoder) bytes() []byte {
	n := d.uvarint()
	if n > uint64(len(d.b)-d.pos) {
		d.fail("truncated string")
		return nil
	}
	s := d.b[d.pos : d.pos+int(n)]
	d.pos += int(n)
	return s
}

// str appends the next string to c.
func (d *binDecoder) str(c *strCol) { c.addBytes(d.bytes()) }

// strs appends the next []string to a as one row.
func (d *binDecoder) strs(a *arrCol) {
	n := d.uvarint()
	if n > uint64(len(d.b)-d.pos) { // every string takes at least a byte
		d.fail("array too long for the batch")
	}
	for i := uint64(0); i < n && d.err == nil; i++ {
		a.elems.addBytes(d.bytes())
	}
	a.endRow()
}

// time reads a timestamp: Unix nanoseconds, big-endian.
func (d *binDecoder) time() int64 {
	if len(d.b)-d.pos < 8 {
		d.fail("truncated timestamp")
		return 0
	}
	v := int64(binary.BigEndian.Uint64(d.b[d.pos:]))
	d.pos += 8
	return v
}

func (d *binDecoder) byte() byte {
	if d.pos >= len(d.b) {
		d.fail("truncated batch")
		return 0
	}
	d.pos++
	return d.b[d.pos-1]
}

// event appends one access event record, in audit.AppendEvent's field order.
func (d *binDecoder) event(r *eventRows) {
	d.str(&r.eventID)
	r.occurredNS = append(r.occurredNS, d.time())
	d.str(&r.actorID)
	d.str(&r.actorType)
	d.str(&r.subjectID)
	d.str(&r.action)
	d.strs(&r.dataCategories)
	d.strs(&r.fields)
	d.str(&r.recipientID)
	d.str(&r.recipientType)
	d.str(&r.purpose)
	d.str(&r.legalBasis)
	d.str(&r.consentID)
	d.str(&r.outcome)
	r.recordCount = append(r.recordCount, d.uvarint())
	d.str(&r.channel)
	d.str(&r.jurisdiction)
	d.str(&r.requestID)
	d.strs(&r.attrKeys)
	d.strs(&r.attrValues)
}

// consent appends one consent event record, in audit.AppendConsent's field
// order. Without an expiry, has_expiry is 0 and expires_ns 0 (the epoch).
func (d *binDecoder) consent(r *consentRows) {
	d.str(&r.consentEventID)
	d.str(&r.consentID)
	d.str(&r.subjectID)
	d.str(&r.recipientID)
	d.str(&r.status)
	d.strs(&r.purposes)
	d.strs(&r.dataCategories)
	r.effectiveNS = append(r.effectiveNS, d.time())
	var exp int64
	has := d.byte()
	switch has {
	case 1:
		exp = d.time()
	case 0:
	default:
		d.fail("bad expires_at presence byte")
	}
	r.hasExpiry = append(r.hasExpiry, has)
	r.expiresNS = append(r.expiresNS, exp)
	d.str(&r.method)
	d.str(&r.noticeVersion)
	d.str(&r.jurisdiction)
	d.str(&r.proofSHA256)
	d.strs(&r.attrKeys)
	d.strs(&r.attrValues)
}
