package audit

import (
	"strings"
	"testing"
)

// TestVerdictMeaning checks every verdict has one sentence and a SPEC §3
// rule, and that a name that is no verdict has none.
func TestVerdictMeaning(t *testing.T) {
	seen := map[string]bool{}
	for _, v := range VerdictNames() {
		meaning, rule, ok := VerdictMeaning(v)
		if !ok || meaning == "" || !strings.HasPrefix(rule, "§3 step ") {
			t.Errorf("verdict %s: meaning %q, rule %q, ok %v", v, meaning, rule, ok)
		}
		if !strings.HasSuffix(meaning, ".") || strings.Count(meaning, ". ") > 0 {
			t.Errorf("verdict %s: want one sentence, got %q", v, meaning)
		}
		if seen[meaning] {
			t.Errorf("verdict %s repeats another verdict's meaning", v)
		}
		seen[meaning] = true
	}
	if _, _, ok := VerdictMeaning("made_up"); ok {
		t.Error("a name that is no verdict has a meaning")
	}
}
