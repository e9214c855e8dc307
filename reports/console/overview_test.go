package console

import (
	"testing"
	"time"
)

// TestBucket: a row of the consent changes links to its day, week or
// month, clipped to the period.
func TestBucket(t *testing.T) {
	from, to := time.Date(2026, 10, 3, 0, 0, 0, 0, time.UTC), time.Date(2027, 1, 20, 0, 0, 0, 0, time.UTC)
	for _, c := range []struct{ label, from, to string }{
		{"2026-10-05", "2026-10-05", "2026-10-06"},
		{"week of 2026-09-28", "2026-10-03", "2026-10-05"},
		{"week of 2026-10-05", "2026-10-05", "2026-10-12"},
		{"2027-01", "2027-01-01", "2027-01-20"},
	} {
		f, tt := bucket(c.label, from, to)
		if f.Format(time.DateOnly) != c.from || tt.Format(time.DateOnly) != c.to {
			t.Errorf("%s: %s – %s, want %s – %s", c.label, f, tt, c.from, c.to)
		}
	}
	if got := reportLink("violations", from, to, map[string]string{"verdict": "no_consent", "recipient": "a&b"}); got !=
		"/console/reports/violations?filter.recipient=a%26b&filter.verdict=no_consent&from=2026-10-03&to=2027-01-20" {
		t.Errorf("link %s", got)
	}
}
