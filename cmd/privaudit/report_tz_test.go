package main

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"github.com/privaudit/privaudit/audit/auth"
	"github.com/privaudit/privaudit/reports/xlsx"
)

// TestReportRunTimeZone: `report run --tz ZONE` gets an xlsx whose times
// are shown in ZONE; an unknown zone is refused before the server is asked.
func TestReportRunTimeZone(t *testing.T) {
	env := reportServer(t, false)
	file := filepath.Join(t.TempDir(), "d.xlsx")
	if _, stderr, err := runReport(t, env, auth.RoleOfficer, "run", "disclosures", "--from", "2026-10-01", "--to", "2026-11-01",
		"--tz", "Europe/Paris", "--out", file); err != nil {
		t.Fatalf("run: %v\n%s", err, stderr)
	}
	f, err := excelize.OpenFile(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if v, _ := f.GetCellValue(xlsx.DetailSheet, "B1"); v != "Occurred at (Europe/Paris)" {
		t.Errorf("Detail B1 = %q, want the zone named", v)
	}
	bad := filepath.Join(t.TempDir(), "bad.xlsx")
	_, _, err = runReport(t, env, auth.RoleOfficer, "run", "disclosures", "--from", "2026-10-01", "--to", "2026-11-01",
		"--tz", "Mars/Olympus", "--out", bad)
	var ue usageError
	if !errors.As(err, &ue) || !strings.Contains(err.Error(), `"Mars/Olympus"`) {
		t.Errorf("unknown zone: %v", err)
	}
	if _, err := os.Stat(bad); !os.IsNotExist(err) {
		t.Errorf("a file was written for an unknown zone (%v)", err)
	}
}
