package xlsx

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/xuri/excelize/v2"

	"github.com/privaudit/privaudit/audit"
	"github.com/privaudit/privaudit/reports/render"
	"github.com/privaudit/privaudit/reports/xlsx/xlsxtest"
)

// readableColumns carry plain-word labels and meanings.
var readableColumns = []render.Column{
	{Name: "occurred_at", Label: "Occurred at", Description: "When the access happened.", Kind: render.Time},
	{Name: "recipient_type", Label: "Recipient type", Description: "What kind of recipient.", Kind: render.String, Width: 10},
	{Name: "verdict", Kind: render.String},
}

// TestRenderReadable: plain-word headers never clipped, times in the
// report's zone (detail and generated-at) with the zone named, notes and a
// sentence for an empty pivot, pivot headers as wide as their verdict
// names, and a Legend with every verdict's meaning and rule and every
// column's identifier.
func TestRenderReadable(t *testing.T) {
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		t.Fatal(err)
	}
	m := testMeta()
	m.Location = paris
	at := time.Date(2024, 7, 1, 22, 30, 0, 0, time.UTC) // 00:30 on 2 Jul in Paris (CEST)
	sum := render.Summary{Notes: []string{"No violations in this period."}, Pivots: []render.Pivot{
		{Title: "Violations per recipient and verdict", RowHeader: "Recipient", Empty: "No violations in this period."},
		{Title: "Disclosures per recipient and verdict", RowHeader: "Recipient", ColHeaders: audit.VerdictNames(),
			Rows: []render.PivotRow{{Label: "msgplatform", Values: make([]float64, len(audit.VerdictNames()))}}},
	}}
	in := render.Input{Meta: m, Columns: readableColumns, Rows: &sliceRows{rows: [][]any{{at, "third_party", "covered"}}},
		Summary: func(context.Context) (render.Summary, error) { return sum, nil }}
	f, _, _ := renderBook(t, in)
	for i, want := range []string{"Occurred at (Europe/Paris)", "Recipient type", "verdict"} {
		col, _ := excelize.ColumnNumberToName(i + 1)
		if v, _ := f.GetCellValue(DetailSheet, col+"1"); v != want {
			t.Errorf("header %s1 = %q, want %q", col, v, want)
		}
		if w, _ := f.GetColWidth(DetailSheet, col); w < float64(utf8.RuneCountInString(want)+3) {
			t.Errorf("column %s (%q) is %v wide: clipped", col, want, w)
		}
	}
	if v, _ := f.GetCellValue(DetailSheet, "A2"); v != "2024-07-02 00:30:00" {
		t.Errorf("A2 shows %q, want Paris wall-clock time 2024-07-02 00:30:00", v)
	}
	gen := rowsAfter(t, f, AboutSheet, "Generation")
	if serial, _ := strconv.ParseFloat(gen[0][1], 64); serialTime(serial).Truncate(time.Second) != time.Date(2024, 2, 1, 7, 0, 0, 0, time.UTC) {
		t.Errorf("generated at %s, want 07:00:00 (06:00 UTC in Paris, CET)", gen[0][1])
	}
	summary := xlsxtest.SheetText(t, f, SummarySheet)
	for _, want := range []string{"\nNo violations in this period.\n", "\nViolations per recipient and verdict\nNo violations in this period.\n",
		"\nTimes shown in|Europe/Paris (csv and json downloads always use UTC)\n"} {
		if !strings.Contains(summary, want) {
			t.Errorf("Summary lacks %q:\n%s", want, summary)
		}
	}
	for j, v := range audit.VerdictNames() {
		col, _ := excelize.ColumnNumberToName(j + 2)
		if w, _ := f.GetColWidth(SummarySheet, col); w < float64(len(v)+1) {
			t.Errorf("Summary column %s holds %s but is %v wide", col, v, w)
		}
	}
	legend := xlsxtest.SheetText(t, f, LegendSheet)
	for _, v := range audit.VerdictNames() {
		meaning, rule, _ := audit.VerdictMeaning(v)
		if !strings.Contains(legend, "\n"+v+"|"+meaning+"|"+rule+"\n") {
			t.Errorf("Legend lacks verdict %s", v)
		}
	}
	for _, want := range []string{"\nOccurred at (Europe/Paris)|When the access happened.|occurred_at\n", "\nverdict||verdict\n",
		"\nDisclosure|" + audit.DisclosureMeaning + "\n"} {
		if !strings.Contains(legend, want) {
			t.Errorf("Legend lacks %q:\n%s", want, legend)
		}
	}
}
