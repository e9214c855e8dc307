package audit

import (
	"fmt"
	"math/bits"
	"strconv"
	"strings"
	"unicode/utf8"
)

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
	// mayCtrl: the last string read had an escape, a raw control byte or
	// a non-ASCII one, so it may break the control-character rule
	// (checkControl); a string without is known not to.
	mayCtrl bool
	// rawCtrl: the last string read held a raw (unescaped) byte below
	// U+0020, which JSON requires to be escaped.
	rawCtrl bool
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
	if sc.pos < sc.end && sc.src[sc.pos] > ' ' { // compact JSON: no whitespace
		return sc.src[sc.pos]
	}
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

// literalKey reads the object key at pos (which is '"') and the ':' after
// it if the key is name written without escapes, and reports whether it
// did; otherwise it consumes nothing.
func (sc *jsonScanner) literalKey(name string) bool {
	start := sc.pos + 1
	end := start + len(name)
	if end >= sc.end || sc.src[end] != '"' || sc.src[start:end] != name {
		return false
	}
	sc.pos = end + 1
	if sc.peek() != ':' {
		sc.failUnexpected("':'")
		return true
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

// str reads the string at pos (which is '"'), setting badUTF8 and
// mayCtrl and rawCtrl. Strings without escapes are returned as slices of
// src, without copying. Raw control characters are read as any other, so
// that the decoder can name the field they are in.
func (sc *jsonScanner) str() string {
	s, start, end, high, ctrl, raw := sc.src, sc.pos+1, sc.end, false, false, false
	i := start
	for {
		// 8 bytes at a time; the first flagged byte of a chunk is a real
		// special one (borrows only flag bytes after it).
		for i+8 <= end {
			m := jsonSpecial8(load64LE(s, i))
			if m == 0 {
				i += 8
				continue
			}
			i += bits.TrailingZeros64(m) >> 3
			break
		}
		if i >= end {
			break
		}
		switch c := s[i]; {
		case c == '"':
			sc.pos = i + 1
			v := s[start:i]
			sc.badUTF8 = high && !utf8.ValidString(v)
			sc.mayCtrl, sc.rawCtrl = high || ctrl, raw
			return v
		case c == '\\':
			return sc.escaped(start, i, raw)
		case c < 0x20:
			ctrl, raw = true, true
		case c == 0x7f:
			ctrl = true
		case c >= 0x80:
			high = true
		}
		i++
	}
	sc.fail(end, sc.eofMsg)
	return ""
}

// load64LE loads s[i:i+8] little-endian.
func load64LE(s string, i int) uint64 {
	b := s[i : i+8] // one bounds check; the compiler then makes one 8-byte load
	return uint64(b[0]) | uint64(b[1])<<8 | uint64(b[2])<<16 | uint64(b[3])<<24 |
		uint64(b[4])<<32 | uint64(b[5])<<40 | uint64(b[6])<<48 | uint64(b[7])<<56
}

// jsonSpecial8 returns a mask with the high bit set in each byte of x that
// may be '"', '\\', a control character (DEL too) or non-ASCII; zero if none is. The
// lowest flagged byte is always a special one: borrows may flag only bytes
// after a special one.
func jsonSpecial8(x uint64) uint64 {
	const ones, high = 0x0101010101010101, 0x8080808080808080
	t := (x - 0x20*ones) | ((x ^ '"'*ones) - ones) | ((x ^ '\\'*ones) - ones) | ((x ^ 0x7f*ones) - ones) | x
	return t & high
}

// escaped finishes reading a string that has an escape at i, unescaping
// it into a new string; raw says whether s[start:i] held a raw control byte.
func (sc *jsonScanner) escaped(start, i int, raw bool) string {
	s, b, lone := sc.src, append(sc.buf[:0], sc.src[start:i]...), false
	for i < sc.end {
		c := s[i]
		switch {
		case c == '"':
			sc.pos, sc.buf = i+1, b
			sc.badUTF8 = lone || !utf8.Valid(b)
			sc.mayCtrl, sc.rawCtrl = true, raw
			return string(b)
		case c != '\\':
			raw = raw || c < 0x20
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
