package main

import (
	"bytes"
	"context"
	"io"
	"regexp"
	"testing"
)

// TestBenchReportsSmall runs `privaudit bench reports` on a few events:
// the flags reach the harness and every section is printed.
func TestBenchReportsSmall(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	var out bytes.Buffer
	err := run(context.Background(), []string{"bench", "reports", "--data-dir", t.TempDir(), "--events", "5000", "--customers", "500",
		"--late-consents", "300", "--log-level", "warn", "--server-binary", buildBinary(t)}, &out, io.Discard)
	if err != nil {
		t.Fatalf("bench reports: %v\n%s", err, out.String())
	}
	for _, re := range []string{
		`reports benchmark: 5000 events, 500 customers, \d+ consent events`,
		`raw period FINAL, FORMAT CSV\s+\d+\.\d+ s .* rows\s+5000 `,
		`violations xlsx\s+\d+\.\d+ s`,
		`subject-access csv\s+\d+\.\d+ s`,
		`× to raw one customer's rows \(≤ 3\.0×: (met|NOT MET)\)`,
		`customer timeline \(console\)\s+\d+\.\d+ s .*\n.*× to raw one customer's rows \(≤ 3\.0×: (met|NOT MET)\); read \d+ rows`,
		`late consents: 300 consent events dated before the period`,
		`writers' re-evaluation:\s+read [1-9]\d* verdict rows .* [1-9]\d* verdicts changed`,
	} {
		if !regexp.MustCompile(re).MatchString(out.String()) {
			t.Errorf("bench reports output lacks %q:\n%s", re, out.String())
		}
	}
}
