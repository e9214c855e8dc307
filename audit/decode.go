package audit

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

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
	d := newDecoder(sb.String(), opts)
	start := 0
	if strings.HasPrefix(d.sc.src, "\uFEFF") {
		start = len("\uFEFF") // tolerate a UTF-8 byte order mark
	}
	array := startsArray(d.sc.src[start:])
	sep := "\n" // an upper bound of the record count, to size out
	if array {
		sep = "{"
	}
	est := min(strings.Count(d.sc.src, sep)+1, len(d.sc.src)/128+1)
	if opts.MaxRecords > 0 {
		est = min(est, opts.MaxRecords)
	}
	out := make([]T, 0, est)
	if array {
		out = decodeArray(d, start, out, rec)
	} else {
		out = decodeLines(d, start, out, rec)
	}
	if d.bad > 0 {
		return nil, &ValidationError{Problems: d.problems, Omitted: d.omitted, BadRecords: d.bad}
	}
	if len(out) == 0 {
		return nil, nil
	}
	return out, nil
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

// maxSkipDepth bounds the nesting of skipped values (unknown fields).
const maxSkipDepth = 64

// jsonScanner is a JSON tokenizer over src[pos:end]. Its first syntax error is
// kept in err (at errPos) and moves pos to end, so every later call is a
// cheap no-op and loops terminate.
type jsonScanner struct {
	src     string
	pos     int
	end     int
	err     string
	errPos  int
	eofMsg  string // error for a value cut short by end
	badUTF8 bool   // the last string read was not valid UTF-8
	buf     []byte // scratch for unescaping
}

func (sc *jsonScanner) reset(pos, end int) { sc.pos, sc.end, sc.err = pos, end, "" }

func (sc *jsonScanner) fail(pos int, msg string) {
	if sc.err == "" {
		sc.err, sc.errPos = msg, pos
	}
	sc.pos = sc.end
}

// failUnexpected fails at pos, naming what was found and what was wanted.
func (sc *jsonScanner) failUnexpected(want string) {
	if sc.pos >= sc.end {
		sc.fail(sc.pos, sc.eofMsg)
		return
	}
	c := sc.src[sc.pos]
	got := fmt.Sprintf("byte 0x%02x", c)
	if c > ' ' && c < 0x7f {
		got = strconv.QuoteRune(rune(c))
	}
	sc.fail(sc.pos, "unexpected "+got+", want "+want)
}

// peek skips whitespace and returns the next byte, or 0 at the end. A NUL
// byte in the input, as invalid as the end, is returned as 1.
func (sc *jsonScanner) peek() byte {
	for ; sc.pos < sc.end; sc.pos++ {
		switch c := sc.src[sc.pos]; c {
		case ' ', '\t', '\n', '\r':
		case 0:
			return 1
		default:
			return c
		}
	}
	return 0
}

// more steps to the next member of an object whose '{' is consumed;
// first is true for the first call. It reports false at the closing '}'
// or on error; otherwise the scanner is at the member's key.
func (sc *jsonScanner) more(first bool) bool {
	c := sc.peek()
	if c == '}' {
		sc.pos++
		return false
	}
	if !first {
		if c != ',' {
			sc.failUnexpected("',' or '}'")
			return false
		}
		sc.pos++
		c = sc.peek()
	}
	if c != '"' {
		sc.failUnexpected("a string key")
		return false
	}
	return true
}

// moreElems steps to the next element of an array whose '[' is consumed,
// like more; a missing element is left to the caller's value reader.
func (sc *jsonScanner) moreElems(first bool) bool {
	c := sc.peek()
	if c == ']' {
		sc.pos++
		return false
	}
	if first {
		return true
	}
	if c != ',' {
		sc.failUnexpected("',' or ']'")
		return false
	}
	sc.pos++
	return true
}

// key reads an object key and the ':' after it.
func (sc *jsonScanner) key() string {
	k := sc.str()
	if sc.peek() != ':' {
		sc.failUnexpected("':'")
		return ""
	}
	sc.pos++
	return k
}

// str reads the string at pos (which is '"'), setting badUTF8. Strings
// without escapes are returned as slices of src, without copying.
func (sc *jsonScanner) str() string {
	s, start, end, high := sc.src, sc.pos+1, sc.end, false
	i := start
	for i+8 <= end && !jsonSpecial8(load64LE(s, i)) { // 8 plain ASCII bytes at a time
		i += 8
	}
	for ; i < end; i++ {
		switch c := s[i]; {
		case c == '"':
			sc.pos = i + 1
			v := s[start:i]
			sc.badUTF8 = high && !utf8.ValidString(v)
			return v
		case c == '\\':
			return sc.escaped(start, i)
		case c < 0x20:
			sc.fail(i, "control character in string")
			return ""
		case c >= 0x80:
			high = true
		}
	}
	sc.fail(end, sc.eofMsg)
	return ""
}

// load64LE loads s[i:i+8] little-endian.
func load64LE(s string, i int) uint64 {
	_ = s[i+7]
	return uint64(s[i]) | uint64(s[i+1])<<8 | uint64(s[i+2])<<16 | uint64(s[i+3])<<24 |
		uint64(s[i+4])<<32 | uint64(s[i+5])<<40 | uint64(s[i+6])<<48 | uint64(s[i+7])<<56
}

// jsonSpecial8 reports whether some byte of x may be '"', '\\', a control
// character or non-ASCII. (Borrows may flag bytes after a special one;
// the byte-wise loop sorts that out.)
func jsonSpecial8(x uint64) bool {
	const ones, high = 0x0101010101010101, 0x8080808080808080
	t := (x - 0x20*ones) | ((x ^ '"'*ones) - ones) | ((x ^ '\\'*ones) - ones) | x
	return t&high != 0
}

// escaped finishes reading a string that has an escape at i, unescaping
// it into a new string.
func (sc *jsonScanner) escaped(start, i int) string {
	s, b, lone := sc.src, append(sc.buf[:0], sc.src[start:i]...), false
	for i < sc.end {
		c := s[i]
		switch {
		case c == '"':
			sc.pos, sc.buf = i+1, b
			sc.badUTF8 = lone || !utf8.Valid(b)
			return string(b)
		case c < 0x20:
			sc.fail(i, "control character in string")
			return ""
		case c != '\\':
			b = append(b, c)
			i++
			continue
		}
		if i+1 >= sc.end {
			break
		}
		n := 2
		switch e := s[i+1]; e {
		case '"', '\\', '/':
			b = append(b, e)
		case 'b', 'f', 'n', 'r', 't':
			b = append(b, "\b\f\n\r\t"[strings.IndexByte("bfnrt", e)])
		case 'u':
			var r rune
			if r, n = sc.unicodeEscape(i); n == 0 {
				return ""
			}
			lone = lone || r == utf8.RuneError
			b = utf8.AppendRune(b, r)
		default:
			sc.fail(i, "invalid escape in string")
			return ""
		}
		i += n
	}
	sc.fail(sc.end, sc.eofMsg)
	return ""
}

// unicodeEscape decodes the \uXXXX escape at i, joining a surrogate pair.
// It returns the rune (utf8.RuneError for a lone surrogate) and the number
// of bytes used, 0 after a syntax error.
func (sc *jsonScanner) unicodeEscape(i int) (rune, int) {
	r := sc.hex4(i + 2)
	if r < 0 {
		sc.fail(i, "invalid \\u escape in string")
		return 0, 0
	}
	if r < 0xD800 || r > 0xDFFF {
		return r, 6
	}
	if r < 0xDC00 && i+12 <= sc.end && sc.src[i+6] == '\\' && sc.src[i+7] == 'u' {
		if r2 := sc.hex4(i + 8); r2 >= 0xDC00 && r2 <= 0xDFFF {
			return 0x10000 + (r-0xD800)<<10 + (r2 - 0xDC00), 12
		}
	}
	return utf8.RuneError, 6
}

// hex4 decodes four hex digits at i, or returns -1.
func (sc *jsonScanner) hex4(i int) rune {
	if i+4 > sc.end {
		return -1
	}
	var r rune
	for _, c := range []byte(sc.src[i : i+4]) {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c -= 'a' - 10
		case 'A' <= c && c <= 'F':
			c -= 'A' - 10
		default:
			return -1
		}
		r = r<<4 | rune(c)
	}
	return r
}

// null consumes a null literal if there is one.
func (sc *jsonScanner) null() bool {
	if sc.peek() != 'n' {
		return false
	}
	sc.literal("null")
	return true
}

func (sc *jsonScanner) literal(word string) {
	if !strings.HasPrefix(sc.src[sc.pos:sc.end], word) {
		sc.failUnexpected("a JSON value")
		return
	}
	sc.pos += len(word)
}

// number scans a JSON number, reporting whether it has neither fraction
// nor exponent.
func (sc *jsonScanner) number() (text string, integer bool) {
	s, i, end := sc.src, sc.pos, sc.end
	digits := func() bool {
		j := i
		for i < end && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		return i > j
	}
	if i < end && s[i] == '-' {
		i++
	}
	switch {
	case i < end && s[i] == '0':
		i++
	case !digits():
		sc.fail(i, "invalid number")
		return "", false
	}
	integer = true
	if i < end && s[i] == '.' {
		i, integer = i+1, false
		if !digits() {
			sc.fail(i, "invalid number")
			return "", false
		}
	}
	if i < end && (s[i] == 'e' || s[i] == 'E') {
		i, integer = i+1, false
		if i < end && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if !digits() {
			sc.fail(i, "invalid number")
			return "", false
		}
	}
	text, sc.pos = s[sc.pos:i], i
	return text, integer
}

// skip checks and skips one value of any type.
func (sc *jsonScanner) skip(depth int) {
	c := sc.peek()
	switch {
	case c == '"':
		sc.str()
	case (c == '{' || c == '[') && depth >= maxSkipDepth:
		sc.fail(sc.pos, "nested too deeply")
	case c == '{':
		sc.pos++
		for first := true; sc.more(first); first = false {
			sc.key()
			sc.skip(depth + 1)
		}
	case c == '[':
		sc.pos++
		for first := true; sc.moreElems(first); first = false {
			sc.skip(depth + 1)
		}
	case c == 't':
		sc.literal("true")
	case c == 'f':
		sc.literal("false")
	case c == 'n':
		sc.literal("null")
	case c == '-' || (c >= '0' && c <= '9'):
		sc.number()
	default:
		sc.failUnexpected("a JSON value")
	}
}

// jsonKindName names the JSON type of a value starting with c, or returns ""
// if no value starts with c.
func jsonKindName(c byte) string {
	switch {
	case c == '"':
		return "string"
	case c == '{':
		return "object"
	case c == '[':
		return "array"
	case c == 't' || c == 'f':
		return "boolean"
	case c == 'n':
		return "null"
	case c == '-' || (c >= '0' && c <= '9'):
		return "number"
	}
	return ""
}
