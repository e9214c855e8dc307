package schedule

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"github.com/privaudit/privaudit/reports"
	"github.com/privaudit/privaudit/reports/xlsx"
)

// TestScheduledPeriodPrintsLikeManual: a schedule in Europe/Paris prints
// its period as the dates of its zone, as a manual run with the same zone
// does, never as UTC instants, and shows its times in that zone.
func TestScheduledPeriodPrintsLikeManual(t *testing.T) {
	c := cfg("paris")
	c.Timezone, c.Formats = "Europe/Paris", []string{"xlsx"}
	f := newFixture(t, nil, []Config{c}, nil, nil)
	run, err := f.s.RunNow(context.Background(), "paris")
	if err != nil {
		t.Fatalf("run now: %v\n%s", err, f.logs)
	}
	const period = "2 Nov 2026 – 3 Nov 2026 (to is exclusive: up to 2 Nov 2026 inclusive)"
	scheduled := summaryRows(t, run.Files[0].Path)
	for _, want := range []string{"Period|" + period, "Times shown in|Europe/Paris"} {
		if !strings.Contains(scheduled, want) {
			t.Errorf("the scheduled run's Summary lacks %q:\n%s", want, scheduled)
		}
	}
	var buf bytes.Buffer
	if _, err := newRunner(t, f.env, nil).Run(context.Background(), reports.RunRequest{Report: c.Report, From: run.From,
		To: run.To, TimeZone: "Europe/Paris", Format: "xlsx", Actor: "officer", Out: &buf}); err != nil {
		t.Fatal(err)
	}
	wb, err := excelize.OpenReader(&buf)
	if err != nil {
		t.Fatal(err)
	}
	defer wb.Close()
	v, _ := wb.GetCellValue(xlsx.SummarySheet, "B"+periodRow(t, wb))
	if v != period {
		t.Errorf("the manual run prints the period as %q, the scheduled one as %q", v, period)
	}
}

// summaryRows is the Summary sheet of the workbook at path, a line per
// row, cells joined with "|".
func summaryRows(t *testing.T, path string) string {
	t.Helper()
	wb, err := excelize.OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer wb.Close()
	rows, err := wb.GetRows(xlsx.SummarySheet)
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, r := range rows {
		lines = append(lines, strings.Join(r, "|"))
	}
	return strings.Join(lines, "\n")
}

// periodRow is the number of the Summary row labelled Period.
func periodRow(t *testing.T, wb *excelize.File) string {
	t.Helper()
	cells, err := wb.SearchSheet(xlsx.SummarySheet, "^Period$", true)
	if err != nil || len(cells) != 1 {
		t.Fatalf("Summary has no Period row (%v, %v)", cells, err)
	}
	return strings.TrimLeft(cells[0], "A")
}
