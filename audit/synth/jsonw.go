package synth

import (
	"math/rand/v2"
	"strconv"
	"unicode/utf8"
)

const hexDigits = "0123456789abcdef"

// appendJSONString appends s as a JSON string literal. Plain ASCII without
// quotes, backslashes or control characters (every generated value) is
// copied as is; anything else is escaped so the output is always valid JSON.
func appendJSONString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c == '"' || c == '\\' || c >= 0x80 {
			return append(appendEscaped(append(dst, s[:i]...), s[i:]), '"')
		}
	}
	dst = append(dst, s...)
	return append(dst, '"')
}

// appendEscaped appends s with JSON escaping: quotes, backslashes, control
// characters, U+2028/U+2029, and invalid UTF-8 replaced by U+FFFD.
func appendEscaped(dst []byte, s string) []byte {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				dst = append(dst, '\\', c)
			case c == '\n':
				dst = append(dst, '\\', 'n')
			case c == '\r':
				dst = append(dst, '\\', 'r')
			case c == '\t':
				dst = append(dst, '\\', 't')
			case c < 0x20:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			default:
				dst = append(dst, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			dst = append(dst, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
		default:
			dst = append(dst, s[i:i+size]...)
		}
		i += size
	}
	return dst
}

// appendField appends `"key":` followed by the JSON string value, preceded
// by a comma.
func appendField(dst []byte, key, value string) []byte {
	dst = append(dst, ',', '"')
	dst = append(dst, key...)
	dst = append(dst, '"', ':')
	return appendJSONString(dst, value)
}

// appendKey appends `,"key":`.
func appendKey(dst []byte, key string) []byte {
	dst = append(dst, ',', '"')
	dst = append(dst, key...)
	return append(dst, '"', ':')
}

// appendMaskArray appends the names selected by mask as a JSON array.
func appendMaskArray(dst []byte, mask uint8, names []string) []byte {
	dst = append(dst, '[')
	first := true
	for i, name := range names {
		if mask&(1<<i) == 0 {
			continue
		}
		if !first {
			dst = append(dst, ',')
		}
		first = false
		dst = appendJSONString(dst, name)
	}
	return append(dst, ']')
}

// appendUUID appends a random version 4 UUID in canonical lower-case form.
func appendUUID(dst []byte, r *rand.Rand) []byte {
	hi, lo := r.Uint64(), r.Uint64()
	hi = hi&^(0xf<<12) | 0x4<<12 // version 4
	lo = lo&^(0x3<<62) | 0x2<<62 // RFC 4122 variant
	var b [36]byte
	put := func(at int, v uint64, nibbles int) {
		for i := nibbles - 1; i >= 0; i-- {
			b[at+i] = hexDigits[v&0xf]
			v >>= 4
		}
	}
	put(0, hi>>32, 8)
	b[8] = '-'
	put(9, hi>>16, 4)
	b[13] = '-'
	put(14, hi, 4)
	b[18] = '-'
	put(19, lo>>48, 4)
	b[23] = '-'
	put(24, lo, 12)
	return append(dst, b[:]...)
}

// appendHex appends n random lower-case hex digits.
func appendHex(dst []byte, r *rand.Rand, n int) []byte {
	for n > 0 {
		v := r.Uint64()
		for i := 0; i < 16 && n > 0; i, n = i+1, n-1 {
			dst = append(dst, hexDigits[v&0xf])
			v >>= 4
		}
	}
	return dst
}

// appendPadded appends n in decimal, zero-padded to width digits.
func appendPadded(dst []byte, n, width int) []byte {
	var b [20]byte
	i := len(b)
	for n > 0 || width > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
		width--
	}
	return append(dst, b[i:]...)
}

// appendCustomerID appends the subject id of customer i.
func appendCustomerID(dst []byte, i int) []byte {
	return appendPadded(append(dst, "cust-"...), i+1, 7)
}

// appendConsentID appends the id of customer i's consent of kind.
func appendConsentID(dst []byte, kind uint8, i int) []byte {
	return appendPadded(append(dst, consentPrefix[kind]...), i+1, 7)
}

// appendInt appends n in decimal.
func appendInt(dst []byte, n int) []byte {
	return strconv.AppendInt(dst, int64(n), 10)
}

// tsFormatter formats Unix milliseconds as RFC 3339 UTC with milliseconds,
// caching the date part of the last day formatted.
type tsFormatter struct {
	day  int64
	date [11]byte // "YYYY-MM-DDT"
	ok   bool
}

// appendTimestamp appends ms (Unix milliseconds, ≥ 0) as
// "YYYY-MM-DDTHH:MM:SS.mmmZ".
func (f *tsFormatter) appendTimestamp(dst []byte, ms int64) []byte {
	day, rem := ms/86400000, ms%86400000
	if !f.ok || day != f.day {
		f.day, f.ok = day, true
		y, m, d := civil(day)
		b := appendPadded(f.date[:0], y, 4)
		b = append(b, '-')
		b = appendPadded(b, m, 2)
		b = append(b, '-')
		b = appendPadded(b, d, 2)
		_ = append(b, 'T')
	}
	dst = append(dst, f.date[:]...)
	h, rem := rem/3600000, rem%3600000
	mi, rem := rem/60000, rem%60000
	s, milli := rem/1000, rem%1000
	return append(dst,
		byte('0'+h/10), byte('0'+h%10), ':',
		byte('0'+mi/10), byte('0'+mi%10), ':',
		byte('0'+s/10), byte('0'+s%10), '.',
		byte('0'+milli/100), byte('0'+milli/10%10), byte('0'+milli%10), 'Z')
}

// civil converts days since 1970-01-01 to a proleptic Gregorian date
// (Howard Hinnant's days_from_civil inverse).
func civil(days int64) (year, month, day int) {
	z := days + 719468
	era := z / 146097
	doe := z - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	y := yoe + era*400
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	d := doy - (153*mp+2)/5 + 1
	m := mp + 3
	if m > 12 {
		m -= 12
	}
	if m <= 2 {
		y++
	}
	return int(y), int(m), int(d)
}
