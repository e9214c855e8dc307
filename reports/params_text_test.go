package reports

import (
	"strings"
	"testing"
)

// TestParamControlCharacters: a report parameter holding a control
// character no record may hold is refused before the report runs, naming
// the character, since the run's own audit event could not record it.
func TestParamControlCharacters(t *testing.T) {
	p := ParamSpec{Name: "subject_id", Kind: ParamString}
	for _, v := range []string{"cust\x01", "cust\u0085", "a\x00b"} {
		if _, err := p.bind(v); err == nil || !strings.Contains(err.Error(), "control character U+") {
			t.Errorf("bind(%q) = %v; want a control-character refusal", v, err)
		}
	}
	if got, err := p.bind("cust-0042"); err != nil || got != "cust-0042" {
		t.Errorf("bind(cust-0042) = %v, %v", got, err)
	}
}
