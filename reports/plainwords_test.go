package reports

import (
	"strings"
	"testing"

	"github.com/privaudit/privaudit/audit"
)

// TestPlainWordsComplete checks that a customer-ready report has words for
// every value of the wire contract's enums and for every verdict, and that
// no verdict's words restate a verdict code (the one-word codes covered
// and denied are plain English; the others have underscores).
func TestPlainWordsComplete(t *testing.T) {
	for _, set := range []struct {
		name   string
		values []string
		words  map[string]string
	}{
		{"actor_type", audit.ActorTypes, actorWords},
		{"action", audit.Actions, actionWords},
		{"recipient_type", audit.RecipientTypes, recipientTypeWords},
		{"legal_basis", audit.LegalBases, legalBasisWords},
		{"verdict", audit.VerdictNames(), verdictWords},
	} {
		for _, v := range set.values {
			if w := set.words[v]; w == "" || w == v {
				t.Errorf("%s %s has no plain words for a customer", set.name, v)
			}
		}
		if len(set.words) != len(set.values) {
			t.Errorf("%s: words for %d values, the contract has %d", set.name, len(set.words), len(set.values))
		}
	}
	for v, w := range verdictWords {
		for _, code := range audit.VerdictNames() {
			if w == code || strings.Contains(code, "_") && strings.Contains(w, code) {
				t.Errorf("the words for %s (%q) contain the verdict code %s", v, w, code)
			}
		}
	}
}

// TestConsentChangeWords walks one consent through every change a
// customer's consent rows name.
func TestConsentChangeWords(t *testing.T) {
	c := newCustomerRows(nil).(*customerRows)
	steps := []struct {
		granted        bool
		purposes, cats []string
		want           string
	}{
		{true, []string{"a", "b"}, []string{"x"}, consentGiven},
		{true, []string{"a"}, []string{"x"}, consentNarrowed},
		{true, []string{"a", "c"}, []string{"x", "y"}, consentWidened},
		{true, []string{"d"}, []string{"x", "y"}, consentChanged},
		{true, []string{"d", "d"}, []string{"y", "x"}, consentRenewed},
		{false, nil, nil, consentWithdrawn},
		{true, []string{"a"}, []string{"x"}, consentGivenAgain},
	}
	for i, s := range steps {
		if got := c.consentChange("k", s.granted, s.purposes, s.cats); got != s.want {
			t.Errorf("step %d: %q, want %q", i+1, got, s.want)
		}
	}
	if got := c.consentChange("other", true, []string{"a"}, []string{"x"}); got != consentGiven {
		t.Errorf("another consent: %q, want %q", got, consentGiven)
	}
}
