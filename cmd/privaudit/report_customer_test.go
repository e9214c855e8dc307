package main

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/privaudit/privaudit/audit/auth"
)

// TestReportAudienceCustomer: `report run subject-access --audience
// customer` downloads the customer-ready form (an html page from an .html
// --out), refuses the flag for a report without one, and still warns about
// a customer nothing is recorded about.
func TestReportAudienceCustomer(t *testing.T) {
	env := reportServer(t, false)
	dir := t.TempDir()
	out := filepath.Join(dir, "cust-01.html")
	run := func(extra ...string) (string, error) {
		_, stderr, err := runReport(t, env, auth.RoleOfficer, append([]string{"run", "subject-access", "--from", "2026-10-01",
			"--to", "2026-11-01", "--audience", "customer"}, extra...)...)
		return stderr, err
	}
	if stderr, err := run("--param", "subject_id=cust-01", "--out", out); err != nil {
		t.Fatalf("customer html: %v %s", err, stderr)
	}
	b, err := os.ReadFile(out)
	if err != nil || !strings.HasPrefix(string(b), "<!DOCTYPE html>") || !strings.Contains(string(b), "Your personal data") ||
		strings.Contains(string(b), "svc-messenger-bridge") {
		t.Errorf("customer html (%v): %.300s", err, b)
	}
	if _, err := run("--param", "subject_id=cust-1O", "--out", filepath.Join(dir, "x.csv")); err == nil ||
		!strings.Contains(err.Error(), `subject-access-customer: nothing at all is recorded about subject_id "cust-1O"`) {
		t.Errorf("unknown customer: %v", err)
	}
	_, _, err = runReport(t, env, auth.RoleOfficer, "run", "disclosures", "--from", "2026-10-01", "--to", "2026-11-01", "--audience", "customer")
	var ue usageError
	if err == nil || !strings.Contains(err.Error(), "disclosures has no customer-ready form") || !errors.As(err, &ue) {
		t.Errorf("--audience customer for disclosures: %v", err)
	}
}
