package audit

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// minRecordBytes bounds the record count estimated for an input.
const minRecordBytes = 256

// MaxProblems is the number of problems a ValidationError lists; further
// problems are only counted (ValidationError.Omitted).
const MaxProblems = 1000

// DecodeOptions tunes DecodeEvents and DecodeConsents.
type DecodeOptions struct {
	// Now returns the current time for the "occurred_at not more than five
	// minutes in the future" rule. Nil means time.Now.
	Now func() time.Time
	// MaxRecords limits the number of records in one input; 0 means no limit.
	MaxRecords int
}

// Problem is one reason a record of the input was rejected.
type Problem struct {
	// Line is the 1-based line of the input: the record's line for NDJSON,
	// the line where the element starts for a JSON array, or the line of
	// the error itself for malformed JSON.
	Line int `json:"line"`
	// Index is the 0-based position of the record in the input.
	Index int `json:"index"`
	// Field names the offending JSON field ("occurred_at",
	// "attributes.foo", "data_categories[2]"); empty for problems with the
	// record as a whole, such as malformed JSON.
	Field string `json:"field,omitempty"`
	// Reason says what is wrong; it quotes at most a truncated offending
	// value, never a whole record.
	Reason string `json:"reason"`
}

// String formats p as `line 3: field "occurred_at": reason`.
func (p Problem) String() string {
	if p.Field == "" {
		return "line " + strconv.Itoa(p.Line) + ": " + p.Reason
	}
	return "line " + strconv.Itoa(p.Line) + ": field " + strconv.Quote(p.Field) + ": " + p.Reason
}

// ValidationError reports every invalid record of an input that was
// rejected as a whole. Problems are in input order.
type ValidationError struct {
	Problems   []Problem // at most MaxProblems
	Omitted    int       // problems found beyond MaxProblems
	BadRecords int       // number of distinct records with problems
}

// Error lists the first few problems, e.g.
// `line 3: field "occurred_at": not RFC 3339 timestamp: "yesterday"`.
func (e *ValidationError) Error() string {
	const shown = 10
	var b strings.Builder
	for i, p := range e.Problems {
		if i == shown {
			break
		}
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(p.String())
	}
	if more := len(e.Problems) + e.Omitted - shown; more > 0 {
		fmt.Fprintf(&b, "; and %d more problems", more)
	}
	if b.Len() == 0 {
		return "invalid input"
	}
	return b.String()
}

// DecodeEvents reads access events (SPEC §2.1) as NDJSON or as one JSON
// array and validates them. It is atomic: if any record is invalid it
// returns no records and a *ValidationError listing every problem found.
// Errors reading r are returned wrapped. An empty input yields no records
// and no error. Defaults are applied (outcome "allowed", record_count 1),
// timestamps are in UTC, UUIDs in lower case, attributes sorted by key and
// empty arrays are nil. The strings of the returned events share memory
// with one copy of the input.
func DecodeEvents(r io.Reader, opts DecodeOptions) ([]Event, error) {
	return decodeAll(r, opts, decodeEvent)
}

// DecodeConsents reads consent events (SPEC §2.2) as NDJSON or as one JSON
// array, validating them with the same atomic semantics as DecodeEvents.
func DecodeConsents(r io.Reader, opts DecodeOptions) ([]Consent, error) {
	return decodeAll(r, opts, decodeConsent)
}

// decodeAll reads the whole input and decodes it with rec, one call per
// record, the scanner positioned just after the record's '{'.
func decodeAll[T any](r io.Reader, opts DecodeOptions, rec func(*recordDecoder, *T)) ([]T, error) {
	var sb strings.Builder
	if l, ok := r.(interface{ Len() int }); ok {
		sb.Grow(l.Len())
	}
	if _, err := io.Copy(&sb, r); err != nil {
		return nil, fmt.Errorf("audit: read input: %w", err)
	}
	out, _, err := decodeSource(sb.String(), nil, nil, opts, rec)
	return out, err
}

// decodeSource decodes src into out[:0] (grown as needed), with slab as
// the first backing store of the records' string slices. It also returns
// how many strings the records' slices hold in all.
func decodeSource[T any](src string, out []T, slab []string, opts DecodeOptions, rec func(*recordDecoder, *T)) ([]T, int, error) {
	d := newDecoder(src, opts)
	d.slab = slab[:0]
	start := 0
	if strings.HasPrefix(d.sc.src, "\uFEFF") {
		start = len("\uFEFF") // tolerate a UTF-8 byte order mark
	}
	array := startsArray(d.sc.src[start:])
	// An estimate of the record count, to size out: the lines that start
	// an object, or the objects of an array, but no more than the
	// smallest valid record (over 256 bytes for an event, about 150 for a
	// consent) allows, so that no input of blank lines or empty objects
	// makes out much larger than the input itself. Lines that start with
	// spaces are not counted: out then grows as records come.
	sep := "\n{"
	if array {
		sep = "{"
	}
	est := min(strings.Count(d.sc.src, sep)+1, len(d.sc.src)/minRecordBytes+1)
	if opts.MaxRecords > 0 {
		est = min(est, opts.MaxRecords)
	}
	if cap(out) < est {
		out = make([]T, 0, est)
	}
	out = out[:0]
	if array {
		out = decodeArray(d, start, out, rec)
	} else {
		out = decodeLines(d, start, out, rec)
	}
	if d.bad > 0 {
		return nil, d.kept, &ValidationError{Problems: d.problems, Omitted: d.omitted, BadRecords: d.bad}
	}
	if len(out) == 0 {
		return nil, d.kept, nil
	}
	return out, d.kept, nil
}

// startsArray reports whether the first non-space byte of s is '['.
func startsArray(s string) bool {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case ' ', '\t', '\n', '\r':
		default:
			return s[i] == '['
		}
	}
	return false
}

// decodeLines decodes NDJSON: one object per line, blank lines skipped.
func decodeLines[T any](d *recordDecoder, pos int, out []T, rec func(*recordDecoder, *T)) []T {
	src := d.sc.src
	d.sc.eofMsg = "unexpected end of line (an NDJSON record must be on one line)"
	for line := 1; pos < len(src); line++ {
		end := len(src)
		if i := strings.IndexByte(src[pos:], '\n'); i >= 0 {
			end = pos + i
		}
		d.sc.reset(pos, end)
		d.lineStart, pos = d.sc.pos, end+1
		if d.sc.peek() == 0 {
			continue // blank line
		}
		if !d.startRecord(line) {
			break
		}
		out = decodeOne(d, out, rec)
		if d.sc.err == "" && d.sc.peek() != 0 {
			d.sc.failUnexpected("end of line after the object")
		}
		if d.sc.err != "" {
			d.syntaxProblem()
		}
	}
	return out
}

// decodeArray decodes a single JSON array of objects. Malformed JSON ends
// the decoding: the rest of the array cannot be delimited reliably.
func decodeArray[T any](d *recordDecoder, pos int, out []T, rec func(*recordDecoder, *T)) []T {
	sc := &d.sc
	sc.reset(pos, len(sc.src))
	sc.eofMsg = "unexpected end of input"
	d.array = true
	sc.peek()
	sc.pos++ // '['
	for first := true; sc.moreElems(first); first = false {
		sc.peek()
		if !d.startRecord(d.lineOf(sc.pos)) {
			return out
		}
		out = decodeOne(d, out, rec)
	}
	if sc.err == "" && sc.peek() != 0 { // counts as one more record
		d.index, d.recBad = d.index+1, false
		sc.failUnexpected("end of input after the array")
	}
	if sc.err != "" {
		d.syntaxProblem()
	}
	return out
}

// decodeOne decodes the record at the scanner's position into a new
// element of out; the element is dropped again once any problem is known,
// since the input will be rejected as a whole.
func decodeOne[T any](d *recordDecoder, out []T, rec func(*recordDecoder, *T)) []T {
	sc := &d.sc
	if c := sc.peek(); c != '{' {
		if k := jsonKindName(c); k != "" {
			d.problem("", "expected a JSON object, got "+k)
		}
		sc.skip(0)
		return out
	}
	sc.pos++
	var zero T
	out = append(out, zero)
	rec(d, &out[len(out)-1])
	if d.bad > 0 {
		out = out[:len(out)-1]
	}
	return out
}

// recordDecoder holds the state of one DecodeEvents or DecodeConsents call.
type recordDecoder struct {
	sc          jsonScanner
	maxRecords  int
	array       bool      // the input is a JSON array, not NDJSON
	futureLimit time.Time // no occurred_at after
	line, index int       // of the current record
	lineStart   int       // offset of the current NDJSON line
	linePos     int       // lineOf cache: offset ...
	lineNo      int       // ... and its line number
	problems    []Problem
	omitted     int
	bad         int  // records with problems
	recBad      bool // the current record has a problem
	tmp, tmpV   []string
	slab        []string // backing store for the records' string slices
	kept        int      // strings kept in slabs so far
	// nextKey predicts object keys: nextKey[0] is the field number + 1 of
	// the key that came first in the last object, nextKey[f+1] that of the
	// key that came after field f; 0 is no prediction.
	nextKey [33]int8
}

func newDecoder(src string, opts DecodeOptions) *recordDecoder {
	now := time.Now
	if opts.Now != nil {
		now = opts.Now
	}
	return &recordDecoder{
		sc:          jsonScanner{src: src},
		maxRecords:  opts.MaxRecords,
		futureLimit: now().Add(maxFuture),
		index:       -1,
		lineNo:      1,
	}
}

// startRecord advances to the next record, which starts on line. It
// reports false, after recording a problem, if the record limit is hit.
func (d *recordDecoder) startRecord(line int) bool {
	d.index++
	d.line, d.recBad = line, false
	if d.maxRecords > 0 && d.index >= d.maxRecords {
		d.problem("", "too many records: the limit is "+strconv.Itoa(d.maxRecords))
		return false
	}
	return true
}

// problem records a problem with field of the current record.
func (d *recordDecoder) problem(field, reason string) {
	if !d.recBad {
		d.recBad = true
		d.bad++
	}
	if len(d.problems) >= MaxProblems {
		d.omitted++
		return
	}
	d.problems = append(d.problems, Problem{Line: d.line, Index: d.index, Field: field, Reason: reason})
}

// syntaxProblem records the scanner's syntax error, on the line where it
// occurred.
func (d *recordDecoder) syntaxProblem() {
	sc := &d.sc
	line, start := d.line, d.lineStart
	if d.array {
		line = d.lineOf(sc.errPos)
		start = strings.LastIndexByte(sc.src[:sc.errPos], '\n') + 1
	}
	col := utf8.RuneCountInString(sc.src[start:sc.errPos]) + 1
	saved := d.line
	d.line = line
	d.problem("", "invalid JSON at column "+strconv.Itoa(col)+": "+sc.err)
	d.line = saved
}

// lineOf returns the 1-based line of offset pos, which must not be before
// the offset of the previous call.
func (d *recordDecoder) lineOf(pos int) int {
	if pos > d.linePos {
		d.lineNo += strings.Count(d.sc.src[d.linePos:pos], "\n")
		d.linePos = pos
	}
	return d.lineNo
}

// keep copies tmp into the slab and returns the copy, or nil if tmp is
// empty. The copy's capacity is its length, so appending to it is safe.
func (d *recordDecoder) keep(tmp []string) []string {
	if len(tmp) == 0 {
		return nil
	}
	if len(d.slab)+len(tmp) > cap(d.slab) {
		d.slab = make([]string, 0, max(4096, len(tmp)))
	}
	n := len(d.slab)
	d.slab = append(d.slab, tmp...)
	d.kept += len(tmp)
	return d.slab[n:len(d.slab):len(d.slab)]
}

// quoteValue quotes an offending value for a problem's reason, truncated to 64
// bytes so that no message echoes more than a fragment of a record.
func quoteValue(v string) string {
	const maxQuoted = 64
	if len(v) <= maxQuoted {
		return strconv.Quote(v)
	}
	cut := maxQuoted
	for cut > 0 && !utf8.RuneStart(v[cut]) {
		cut--
	}
	return strconv.Quote(v[:cut]) + "… (" + strconv.Itoa(len(v)) + " bytes)"
}

// problemField makes a user-supplied key usable as a Problem's Field: valid
// UTF-8, truncated to 64 bytes.
func problemField(k string) string {
	if len(k) > 64 {
		cut := 64
		for cut > 0 && !utf8.RuneStart(k[cut]) {
			cut--
		}
		k = k[:cut] + "…"
	}
	return strings.ToValidUTF8(k, "\uFFFD")
}
