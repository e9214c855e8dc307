package audit

import "fmt"

// checkText returns why the string the scanner just read, v, breaks the
// rules every string of the wire contract keeps, or "" if it keeps them.
func (d *recordDecoder) checkText(v string) string {
	switch {
	case d.sc.badUTF8:
		return "not valid UTF-8"
	case d.sc.mayCtrl:
		return checkControl(v)
	}
	return ""
}

// checkControl is the control-character rule of SPEC §2: no string value,
// array element, attribute key or attribute value holds a Unicode control
// character (general category Cc: U+0000–U+001F, U+007F and U+0080–U+009F),
// whether sent raw or as a JSON escape such as \u0000 or \n; the rule
// applies to the unescaped value. It returns why v breaks the rule, or "".
func checkControl(v string) string {
	for i, r := range v {
		if r < 0x20 || 0x7f <= r && r <= 0x9f {
			return fmt.Sprintf("control character U+%04X at byte %d (raw or escaped, control characters U+0000-U+001F and U+007F-U+009F are not allowed in strings; remove or replace it)", r, i)
		}
	}
	return ""
}
