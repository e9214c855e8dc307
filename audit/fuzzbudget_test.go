package audit

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// TestFuzzBudgetsAreCounts checks that every -fuzztime in the Makefile is an
// execution count ("250000x"), never a duration: a duration races the fuzz
// coordinator's deadline in Go 1.26 (golang/go#75804) and fails a loaded CI
// run with "context deadline exceeded" and no failing input.
func TestFuzzBudgetsAreCounts(t *testing.T) {
	data, err := os.ReadFile("../Makefile")
	if err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{}
	assign := regexp.MustCompile(`^([A-Za-z_][A-Za-z0-9_]*)\s*(?:\?=|:=|=)\s*(.*)$`)
	for _, line := range strings.Split(string(data), "\n") {
		if m := assign.FindStringSubmatch(line); m != nil {
			vars[m[1]] = strings.TrimSpace(m[2])
		}
	}
	count := regexp.MustCompile(`^[1-9][0-9]*x$`)
	budget := regexp.MustCompile(`-fuzztime[ =](\S+)`)
	found := 0
	for n, line := range strings.Split(string(data), "\n") {
		for _, m := range budget.FindAllStringSubmatch(line, -1) {
			found++
			v := m[1]
			if name, ok := strings.CutPrefix(v, "$("); ok {
				v = vars[strings.TrimSuffix(name, ")")]
			}
			if !count.MatchString(v) {
				t.Errorf("Makefile:%d: -fuzztime %s is %q, want an execution count such as 250000x (a duration races golang/go#75804)", n+1, m[1], v)
			}
		}
	}
	if found == 0 {
		t.Fatal("no -fuzztime in the Makefile: has the fuzz target moved?")
	}
}
