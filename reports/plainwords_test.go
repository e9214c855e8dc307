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
