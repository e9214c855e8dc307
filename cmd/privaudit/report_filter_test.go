package main

import (
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"github.com/privaudit/privaudit/audit/auth"
)

// TestReportFilterFlag: --filter reaches the server, narrows the report
// and is stated on its About sheet; report list shows each report's
// filters; a filter given twice or with a bad value is refused; a
// filtered subject-access that finds nothing is no mistyped customer.
func TestReportFilterFlag(t *testing.T) {
	env := reportServer(t, false)
	out, _, err := runReport(t, env, auth.RoleOfficer, "list")
	if err != nil || !strings.Contains(out, "FILTERS") ||
		!strings.Contains(out, "recipient,recipient_type,data_category,purpose,verdict,jurisdiction,actor") ||
		!strings.Contains(out, "recipient,data_category,purpose,jurisdiction") {
		t.Fatalf("list: %v\n%s", err, out)
	}
	file := filepath.Join(t.TempDir(), "d.xlsx")
	_, stderr, err := runReport(t, env, auth.RoleOfficer, "run", "disclosures", "--from", "2026-10-01", "--to", "2026-11-01",
		"--filter", "verdict=other_basis", "--filter", "recipient=tax-authority", "--out", file)
	if err != nil || !strings.Contains(stderr, "(1 rows") {
		t.Fatalf("run: %v\n%s", err, stderr)
	}
	f, err := excelize.OpenFile(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	about, _ := f.GetRows("About")
	for _, want := range [][]string{{"Verdict", "only other_basis"}, {"Recipient", "only tax-authority"}} {
		if !slices.ContainsFunc(about, func(r []string) bool { return slices.Equal(r, want) }) {
			t.Errorf("the About sheet does not state %v: %q", want, about)
		}
	}

	_, _, err = runReport(t, env, auth.RoleOfficer, "run", "disclosures", "--from", "2026-10-01", "--to", "2026-11-01",
		"--filter", "actor=a", "--filter", "actor=b")
	var ue usageError
	if !errors.As(err, &ue) || !strings.Contains(err.Error(), "--filter actor is given twice") {
		t.Errorf("a repeated filter: %v", err)
	}
	_, _, err = runReport(t, env, auth.RoleOfficer, "run", "violations", "--from", "2026-10-01", "--to", "2026-11-01",
		"--filter", "verdict=uncovered", "--out", filepath.Join(t.TempDir(), "v.csv"))
	if err == nil || !strings.Contains(err.Error(), `"uncovered" is not one of covered`) {
		t.Errorf("a bad verdict: %v", err)
	}
	_, stderr, err = runReport(t, env, auth.RoleOfficer, "run", "subject-access", "--from", "2026-10-01", "--to", "2026-11-01",
		"--param", "subject_id=cust-01", "--filter", "recipient=nobody", "--out", filepath.Join(t.TempDir(), "s.csv"))
	if err != nil || !strings.Contains(stderr, "(0 rows") {
		t.Errorf("a filtered subject-access with no rows is an answer, not a mistyped id: %v %s", err, stderr)
	}
}
