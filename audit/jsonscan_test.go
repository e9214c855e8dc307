package audit

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestScannerStringsMatchEncodingJSON puts each kind of special byte —
// the closing quote, an escape, a control character, multi-byte and
// invalid UTF-8 — at every offset around the scanner's 8-byte chunks, and
// checks the scanner reads the string as encoding/json does: the same
// value, or an error where encoding/json also fails. Raw control
// characters, a syntax error to encoding/json, are read and flagged for
// the control-character rule instead; a string not flagged holds none.
func TestScannerStringsMatchEncodingJSON(t *testing.T) {
	specials := []string{``, `\"`, `\\`, `\n`, `\u00e9`, `\ud83d\ude00`, "é", "😀", "\x01", "\x1f", "\xff", "\xc3",
		"\x00", "\t", "\n", "\x7f", "\u0085", `\u0000`, `\u007f`, `\u0085`, `\t`, `\r`}
	for _, sp := range specials {
		for pre := 0; pre <= 17; pre++ {
			for post := 0; post <= 9; post++ {
				lit := `"` + strings.Repeat("a", pre) + sp + strings.Repeat("b", post) + `"`
				sc := jsonScanner{src: lit + ",", end: len(lit) + 1, eofMsg: "eof"}
				got := sc.str()
				if !sc.mayCtrl && checkControl(got, sc.rawCtrl) != "" {
					t.Fatalf("%q: read %q holding a control character, not flagged", lit, got)
				}
				if sp != "" && sp[0] < 0x20 { // raw control character
					if sc.err != "" || !sc.mayCtrl || checkControl(got, sc.rawCtrl) == "" {
						t.Fatalf("%q: scanner error %q, flagged %v, rule %q: want read, flagged and refused", lit, sc.err, sc.mayCtrl, checkControl(got, sc.rawCtrl))
					}
					continue
				}
				var want string
				err := json.Unmarshal([]byte(lit), &want)
				jsonBad := err != nil || !strings.Contains(lit, "\\") && !isValidUTF8(lit)
				scanBad := sc.err != "" || sc.badUTF8
				if scanBad != jsonBad {
					t.Fatalf("%q: scanner error %q (bad UTF-8 %v), encoding/json error %v", lit, sc.err, sc.badUTF8, err)
				}
				if scanBad {
					continue
				}
				if got != want || sc.pos != len(lit) {
					t.Fatalf("%q: scanned %q ending at %d, encoding/json %q ending at %d", lit, got, sc.pos, want, len(lit))
				}
			}
		}
	}
}

func isValidUTF8(s string) bool { return strings.ToValidUTF8(s, "\uFFFD") == s }
