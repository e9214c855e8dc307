package queries

import (
	"strings"
	"testing"
)

func TestNearest(t *testing.T) {
	saved := []string{"ad-network-subjects", "shares-after-withdrawal", "subject-recipients", "verdict-consent-expired", "verdict-consent-withdrawn"}
	params := []string{"since", "until", "recipient", "category", "jurisdiction"}
	cases := []struct {
		name       string
		candidates []string
		want       string
	}{
		{"shares-after-withdrawl", saved, "shares-after-withdrawal"},
		{"Shares_After_Withdrawal", saved, "shares-after-withdrawal"},
		{"verdict-consent-expird", saved, "verdict-consent-expired"},
		{"shares", saved, "shares-after-withdrawal"}, // the one name containing it
		{"verdict-consent", saved, ""},               // contained in two: no guess
		{"top-recipients", saved, ""},                // nothing close
		{"recipent", params, "recipient"},
		{"sinse", params, "since"},
		{"to", params, ""},
		{"from", params, ""},
		{"jurisdiction", params, "jurisdiction"},
		{"x", nil, ""},
		{"", params, ""},
	}
	for _, c := range cases {
		if got := Nearest(c.name, c.candidates); got != c.want {
			t.Errorf("Nearest(%q) = %q, want %q", c.name, got, c.want)
		}
	}
	if got := DidYouMean("recipent", params); got != " (did you mean recipient?)" {
		t.Errorf("DidYouMean = %q", got)
	}
	if got := DidYouMean("zzz", params); got != "" {
		t.Errorf("DidYouMean(zzz) = %q, want nothing", got)
	}
}

func TestEditDistance(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want int
	}{{"", "", 0}, {"", "abc", 3}, {"kitten", "sitting", 3}, {"flaw", "lawn", 2}, {"ünï", "uni", 2}, {"same", "same", 0}} {
		if got := editDistance(c.a, c.b); got != c.want {
			t.Errorf("editDistance(%q, %q) = %d, want %d", c.a, c.b, got, c.want)
		}
	}
}

func TestUnknownSavedSuggestsNearest(t *testing.T) {
	_, err := LookupSaved("shares-after-withdrawl")
	if KindOf(err) != ErrNotFound || !strings.Contains(err.Error(), `no saved query "shares-after-withdrawl" (did you mean shares-after-withdrawal?)`) {
		t.Errorf("LookupSaved = %v, want a not_found suggesting shares-after-withdrawal", err)
	}
	q, err := LookupSaved("shares-after-withdrawal")
	if err != nil {
		t.Fatal(err)
	}
	_, err = q.Bind(map[string]string{"since": "2026-01-01", "until": "2026-02-01", "recipent": "adnet"})
	if err == nil || !strings.Contains(err.Error(), `unknown parameter "recipent" (did you mean recipient?)`) {
		t.Errorf("Bind = %v, want a refusal suggesting recipient", err)
	}
}
