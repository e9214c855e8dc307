package queries

import (
	"strings"
	"testing"
)

// TestVerdictsRecomputeIndependently: the statements that recompute
// verdicts (the backfill, verify's evaluated side) evaluate the consent
// ledger and never read the verdict store they fill or check.
func TestVerdictsRecomputeIndependently(t *testing.T) {
	for _, name := range []string{"backfill", "verify_evaluated", "recheck_evaluated"} {
		sql, err := Verdicts(name, DefaultSchema)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(sql, "privaudit.consent_events FINAL") {
			t.Errorf("%s does not evaluate the consent ledger:\n%s", name, sql)
		}
		if !strings.Contains(sql, "cityHash64(subject_id) % @buckets = @bucket") && !strings.Contains(sql, "has(@ids, event_id)") {
			t.Errorf("%s does not narrow the engine to one chunk", name)
		}
		from := sql
		if name == "backfill" {
			_, from, _ = strings.Cut(sql, "SELECT")
		}
		if strings.Contains(from, "access_verdicts") {
			t.Errorf("%s reads the verdict store; it must recompute independently:\n%s", name, sql)
		}
	}
	for _, name := range []string{"verify_stored", "recheck_stored", "any_stored", "events_span", "period_events"} {
		if _, err := Verdicts(name, DefaultSchema); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}
