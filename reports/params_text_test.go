package reports

import (
	"strings"
	"testing"
	"time"
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

// TestUnknownParamSuggestsNearest: a mistyped report parameter is refused
// with the nearest parameter's name; a name close to none gets no guess.
func TestUnknownParamSuggestsNearest(t *testing.T) {
	d, ok := Default().Lookup("subject-access")
	if !ok {
		t.Fatal("no subject-access report")
	}
	from, to := time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	_, _, err := bindParams(d, from, to, map[string]string{"subjct_id": "cust-1"})
	if err == nil || !strings.Contains(err.Error(), `no parameter "subjct_id" (did you mean subject_id?)`) {
		t.Errorf("typo: err %v, want the nearest parameter suggested", err)
	}
	_, _, err = bindParams(d, from, to, map[string]string{"colour": "red"})
	if err == nil || strings.Contains(err.Error(), "did you mean") {
		t.Errorf("unrelated name: err %v, want a refusal without a guess", err)
	}
}
