package audit

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"time"
)

// BinaryVersion is the version byte that starts every encoded batch.
//
// The binary form of records is used by the durable spool and is the
// canonical form the tamper-evidence hash chain is computed over: equal
// records encode to equal bytes, and the decoders accept only bytes the
// encoders produce. A batch (EncodeEvents, EncodeConsents) is
//
//	version byte (BinaryVersion) | kind byte ('E' or 'C') | uvarint count | records
//
// A record (AppendEvent, AppendConsent) is its fields in the order of the
// struct declaration: a string is a uvarint byte length and the bytes, a
// []string a uvarint count and the strings, a time.Time its Unix
// nanoseconds as a big-endian int64 (so times must lie in the years
// 1678–2261, as decoded records' do), RecordCount a uvarint and ExpiresAt
// a presence byte (0 or 1) followed by the time if present. Attribute keys
// and values are encoded as two []string. Uvarints must be minimal.
// Empty and nil slices encode alike and decode as nil; times decode in UTC.
const BinaryVersion byte = 1

// Kind bytes of encoded batches.
const (
	binaryKindEvents   byte = 'E'
	binaryKindConsents byte = 'C'
)

// Minimum encoded sizes of a record, bounding counts read from input.
const (
	minEventSize   = 14 + 4 + 8 + 1 // strings, slices, time, record count
	minConsentSize = 9 + 4 + 8 + 1  // strings, slices, time, presence byte
)

var (
	// ErrCorrupt is wrapped by the errors of the binary decoders for input
	// that is truncated or otherwise not produced by the encoders.
	ErrCorrupt = errors.New("corrupt binary record")
	// ErrBinaryVersion is wrapped by the errors of the binary batch
	// decoders for a batch of an unknown version.
	ErrBinaryVersion = errors.New("unsupported binary format version")
)

// AppendEvent appends the canonical binary form of e to dst (a record,
// without the batch header) and returns the extended slice.
func AppendEvent(dst []byte, e *Event) []byte {
	dst = binAppendString(dst, e.EventID)
	dst = binAppendTime(dst, e.OccurredAt)
	dst = binAppendString(dst, e.ActorID)
	dst = binAppendString(dst, e.ActorType)
	dst = binAppendString(dst, e.SubjectID)
	dst = binAppendString(dst, e.Action)
	dst = binAppendStrings(dst, e.DataCategories)
	dst = binAppendStrings(dst, e.Fields)
	dst = binAppendString(dst, e.RecipientID)
	dst = binAppendString(dst, e.RecipientType)
	dst = binAppendString(dst, e.Purpose)
	dst = binAppendString(dst, e.LegalBasis)
	dst = binAppendString(dst, e.ConsentID)
	dst = binAppendString(dst, e.Outcome)
	dst = binary.AppendUvarint(dst, e.RecordCount)
	dst = binAppendString(dst, e.Channel)
	dst = binAppendString(dst, e.Jurisdiction)
	dst = binAppendString(dst, e.RequestID)
	dst = binAppendStrings(dst, e.AttrKeys)
	return binAppendStrings(dst, e.AttrValues)
}

// AppendConsent appends the canonical binary form of c to dst (a record,
// without the batch header) and returns the extended slice.
func AppendConsent(dst []byte, c *Consent) []byte {
	dst = binAppendString(dst, c.ConsentEventID)
	dst = binAppendString(dst, c.ConsentID)
	dst = binAppendString(dst, c.SubjectID)
	dst = binAppendString(dst, c.RecipientID)
	dst = binAppendString(dst, c.Status)
	dst = binAppendStrings(dst, c.Purposes)
	dst = binAppendStrings(dst, c.DataCategories)
	dst = binAppendTime(dst, c.EffectiveAt)
	if c.ExpiresAt == nil {
		dst = append(dst, 0)
	} else {
		dst = binAppendTime(append(dst, 1), *c.ExpiresAt)
	}
	dst = binAppendString(dst, c.Method)
	dst = binAppendString(dst, c.NoticeVersion)
	dst = binAppendString(dst, c.Jurisdiction)
	dst = binAppendString(dst, c.ProofSHA256)
	dst = binAppendStrings(dst, c.AttrKeys)
	return binAppendStrings(dst, c.AttrValues)
}

// EncodeEvents appends a batch of evs — header and records — to dst.
func EncodeEvents(dst []byte, evs []Event) []byte {
	dst = binary.AppendUvarint(append(dst, BinaryVersion, binaryKindEvents), uint64(len(evs)))
	for i := range evs {
		dst = AppendEvent(dst, &evs[i])
	}
	return dst
}

// EncodeConsents appends a batch of cs — header and records — to dst.
func EncodeConsents(dst []byte, cs []Consent) []byte {
	dst = binary.AppendUvarint(append(dst, BinaryVersion, binaryKindConsents), uint64(len(cs)))
	for i := range cs {
		dst = AppendConsent(dst, &cs[i])
	}
	return dst
}

// ReadEvent decodes one record written by AppendEvent from the start of
// src into e and returns the rest of src. On error e is zeroed and the
// error wraps ErrCorrupt.
func ReadEvent(src []byte, e *Event) (rest []byte, err error) {
	r := binReader{b: src}
	r.event(e)
	if r.err != nil {
		*e = Event{}
		return src, fmt.Errorf("audit: read event: %w", r.err)
	}
	return src[r.pos:], nil
}

// ReadConsent decodes one record written by AppendConsent from the start
// of src into c and returns the rest of src. On error c is zeroed and the
// error wraps ErrCorrupt.
func ReadConsent(src []byte, c *Consent) (rest []byte, err error) {
	r := binReader{b: src}
	r.consent(c)
	if r.err != nil {
		*c = Consent{}
		return src, fmt.Errorf("audit: read consent: %w", r.err)
	}
	return src[r.pos:], nil
}

// DecodeEventsBinary decodes a whole batch written by EncodeEvents. An
// empty batch yields nil. Trailing bytes are an error. The strings of the
// returned events share memory with one copy of src.
func DecodeEventsBinary(src []byte) ([]Event, error) {
	r := binReader{b: src, s: string(src), shared: true}
	n := r.header(binaryKindEvents, minEventSize)
	var out []Event
	if n > 0 {
		out = make([]Event, n)
	}
	for i := range out {
		r.event(&out[i])
	}
	if r.end(); r.err != nil {
		return nil, fmt.Errorf("audit: decode event batch: %w", r.err)
	}
	return out, nil
}

// DecodeConsentsBinary decodes a whole batch written by EncodeConsents. An
// empty batch yields nil. Trailing bytes are an error. The strings of the
// returned consents share memory with one copy of src.
func DecodeConsentsBinary(src []byte) ([]Consent, error) {
	r := binReader{b: src, s: string(src), shared: true}
	n := r.header(binaryKindConsents, minConsentSize)
	var out []Consent
	if n > 0 {
		out = make([]Consent, n)
	}
	for i := range out {
		r.consent(&out[i])
	}
	if r.end(); r.err != nil {
		return nil, fmt.Errorf("audit: decode consent batch: %w", r.err)
	}
	return out, nil
}

func binAppendString(dst []byte, s string) []byte {
	return append(binary.AppendUvarint(dst, uint64(len(s))), s...)
}

func binAppendStrings(dst []byte, ss []string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(ss)))
	for _, s := range ss {
		dst = binAppendString(dst, s)
	}
	return dst
}

func binAppendTime(dst []byte, t time.Time) []byte {
	return binary.BigEndian.AppendUint64(dst, uint64(t.UnixNano()))
}

// binReader decodes binary records from b. Its first error is kept in err
// and moves pos to the end, so later reads are no-ops. If shared, s is
// string(b) and decoded strings are slices of it rather than copies.
type binReader struct {
	b      []byte
	s      string
	shared bool
	pos    int
	err    error
	tmp    []string
	slab   []string
}

func (r *binReader) fail(what string) {
	if r.err == nil {
		r.err = fmt.Errorf("%w: %s at byte %d", ErrCorrupt, what, r.pos)
	}
	r.pos = len(r.b)
}

// header reads a batch header of the given kind and returns the record
// count, checked against the bytes left for records of at least minSize.
func (r *binReader) header(kind byte, minSize int) int {
	if len(r.b) < 2 {
		r.fail("truncated batch header")
		return 0
	}
	if r.b[0] != BinaryVersion {
		r.err = fmt.Errorf("%w %d (want %d)", ErrBinaryVersion, r.b[0], BinaryVersion)
		return 0
	}
	if r.b[1] != kind {
		r.fail("batch kind " + strconv.QuoteRune(rune(r.b[1])) + ", want " + strconv.QuoteRune(rune(kind)))
		return 0
	}
	r.pos = 2
	n := r.uvarint("record count")
	if n > uint64((len(r.b)-r.pos)/minSize) {
		r.fail("record count too large for the batch")
		return 0
	}
	return int(n)
}

// end fails unless all input was read.
func (r *binReader) end() {
	if r.err == nil && r.pos != len(r.b) {
		r.fail("trailing data")
	}
}

func (r *binReader) uvarint(what string) uint64 {
	v, n := binary.Uvarint(r.b[r.pos:])
	if n <= 0 {
		r.fail("bad " + what)
		return 0
	}
	if n > 1 && r.b[r.pos+n-1] == 0 {
		r.fail("non-minimal " + what)
		return 0
	}
	r.pos += n
	return v
}

func (r *binReader) string(what string) string {
	n := r.uvarint(what)
	if n > uint64(len(r.b)-r.pos) {
		r.fail("truncated " + what)
		return ""
	}
	start := r.pos
	r.pos += int(n)
	if r.shared {
		return r.s[start:r.pos]
	}
	return string(r.b[start:r.pos])
}

// strings reads a []string; an empty one decodes as nil.
func (r *binReader) strings(what string) []string {
	n := r.uvarint(what)
	if n == 0 || n > uint64(len(r.b)-r.pos) { // each string takes ≥ 1 byte
		if n != 0 {
			r.fail("count of " + what + " too large")
		}
		return nil
	}
	tmp := r.tmp[:0]
	for i := uint64(0); i < n && r.err == nil; i++ {
		tmp = append(tmp, r.string(what))
	}
	r.tmp = tmp
	if !r.shared {
		return append([]string(nil), tmp...)
	}
	if len(r.slab)+len(tmp) > cap(r.slab) {
		r.slab = make([]string, 0, max(1024, len(tmp)))
	}
	k := len(r.slab)
	r.slab = append(r.slab, tmp...)
	return r.slab[k:len(r.slab):len(r.slab)]
}

func (r *binReader) time(what string) time.Time {
	if len(r.b)-r.pos < 8 {
		r.fail("truncated " + what)
		return time.Time{}
	}
	ns := int64(binary.BigEndian.Uint64(r.b[r.pos:]))
	r.pos += 8
	return time.Unix(0, ns).UTC()
}

func (r *binReader) event(e *Event) {
	e.EventID = r.string("event_id")
	e.OccurredAt = r.time("occurred_at")
	e.ActorID = r.string("actor_id")
	e.ActorType = r.string("actor_type")
	e.SubjectID = r.string("subject_id")
	e.Action = r.string("action")
	e.DataCategories = r.strings("data_categories")
	e.Fields = r.strings("fields")
	e.RecipientID = r.string("recipient_id")
	e.RecipientType = r.string("recipient_type")
	e.Purpose = r.string("purpose")
	e.LegalBasis = r.string("legal_basis")
	e.ConsentID = r.string("consent_id")
	e.Outcome = r.string("outcome")
	e.RecordCount = r.uvarint("record_count")
	e.Channel = r.string("channel")
	e.Jurisdiction = r.string("jurisdiction")
	e.RequestID = r.string("request_id")
	e.AttrKeys = r.strings("attribute keys")
	e.AttrValues = r.strings("attribute values")
}

func (r *binReader) consent(c *Consent) {
	c.ConsentEventID = r.string("consent_event_id")
	c.ConsentID = r.string("consent_id")
	c.SubjectID = r.string("subject_id")
	c.RecipientID = r.string("recipient_id")
	c.Status = r.string("status")
	c.Purposes = r.strings("purposes")
	c.DataCategories = r.strings("data_categories")
	c.EffectiveAt = r.time("effective_at")
	c.ExpiresAt = nil
	switch p := r.byte("expires_at presence"); p {
	case 1:
		t := r.time("expires_at")
		c.ExpiresAt = &t
	case 0:
	default:
		r.fail("bad expires_at presence byte")
	}
	c.Method = r.string("method")
	c.NoticeVersion = r.string("notice_version")
	c.Jurisdiction = r.string("jurisdiction")
	c.ProofSHA256 = r.string("proof_sha256")
	c.AttrKeys = r.strings("attribute keys")
	c.AttrValues = r.strings("attribute values")
}

func (r *binReader) byte(what string) byte {
	if r.pos >= len(r.b) {
		r.fail("truncated " + what)
		return 0
	}
	r.pos++
	return r.b[r.pos-1]
}
