package audit

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// checkText returns why the string the scanner just read, v, breaks the
// rules every string of the wire contract keeps, or "" if it keeps them.
func (d *recordDecoder) checkText(v string) string {
	switch {
	case d.sc.badUTF8:
		return "not valid UTF-8"
	case d.sc.mayCtrl:
		return checkControl(v, d.sc.rawCtrl)
	}
	return ""
}

// checkControl is the control-character rule of SPEC §2: no string value,
// array element, attribute key or attribute value holds a control character
// other than tab, line feed and carriage return — U+0000–U+0008, U+000B,
// U+000C, U+000E–U+001F, U+007F and U+0080–U+009F — whether sent raw or as a
// JSON escape such as \u0000; the rule applies to the unescaped value. Its
// C0 part is what an xlsx cell (XML 1.0) cannot hold; tab and line breaks
// stay allowed for free text such as an audited SQL statement. It returns why
// v breaks the rule, or "". raw says whether v was sent with a raw byte
// below U+0020, which JSON never allows: tab and line breaks must be sent
// escaped (\t, \n, \r).
func checkControl(v string, raw bool) string {
	for i, r := range v {
		if raw && r < 0x20 && !forbiddenControl(r) {
			return fmt.Sprintf("raw control character U+%04X at byte %d (JSON strings must escape it, as \\t, \\n or \\r)", r, i)
		}
		if forbiddenControl(r) {
			return fmt.Sprintf("control character U+%04X at byte %d (raw or escaped, control characters other than tab, LF and CR are not allowed in strings; remove or replace it)", r, i)
		}
	}
	return ""
}

// forbiddenControl reports whether r is a control character checkControl
// refuses.
func forbiddenControl(r rune) bool {
	switch {
	case r == '\t', r == '\n', r == '\r':
		return false
	case r < 0x20:
		return true
	}
	return 0x7f <= r && r <= 0x9f
}

// ScrubText makes s a string every record may hold: invalid UTF-8 and each
// control character checkControl refuses become U+FFFD. privaudit uses it
// for free text it records itself (an officer's SQL), which must be
// recorded whatever it holds.
func ScrubText(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if !strings.ContainsFunc(s, forbiddenControl) {
		return s
	}
	return strings.Map(func(r rune) rune {
		if forbiddenControl(r) {
			return utf8.RuneError
		}
		return r
	}, s)
}

// CheckText returns an error naming the first control character in v that
// no record may hold, or nil: the rule of SPEC §2 for values that become
// part of a record, such as a report's parameters.
func CheckText(v string) error {
	if why := checkControl(v, false); why != "" {
		return errors.New(why)
	}
	return nil
}
