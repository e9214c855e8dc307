package xlsx

import (
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/xuri/excelize/v2"

	"github.com/privaudit/privaudit/reports/render"
)

// testSummary has totals, a charted pivot and a plain one.
func testSummary() render.Summary {
	return render.Summary{
		Totals: []render.Total{{Label: "Disclosures", Value: 812344}, {Label: "Covered %", Value: 97.25}},
		Pivots: []render.Pivot{
			{Title: "Disclosures per recipient × verdict", RowHeader: "recipient_id",
				ColHeaders: []string{"covered", "no_consent", "withdrawn"}, Chart: true,
				Rows: []render.PivotRow{
					{Label: "adtech-europe", Values: []float64{10, 5, 1}},
					{Label: "analytics-co", Values: []float64{20, 0, 2}},
					{Label: "crm-cloud", Values: []float64{7, 1, 0}},
				}},
			{Title: "Records per purpose", RowHeader: "purpose", ColHeaders: []string{"records"},
				Rows: []render.PivotRow{{Label: "billing", Values: []float64{3}}, {Label: "service", Values: []float64{4}}}},
		},
	}
}

// rowsAfter returns the rows of sheet following the row whose first cell
// is label, up to the next empty row.
func rowsAfter(t *testing.T, f *excelize.File, sheet, label string) [][]string {
	t.Helper()
	rows, err := f.GetRows(sheet, excelize.Options{RawCellValue: true})
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range rows {
		if len(r) == 0 || r[0] != label {
			continue
		}
		var out [][]string
		for _, r := range rows[i+1:] {
			if len(r) == 0 {
				break
			}
			out = append(out, r)
		}
		return out
	}
	t.Fatalf("%s has no row %q", sheet, label)
	return nil
}

// TestRenderSummary checks the Summary sheet: first, title, parameters,
// totals, pivots with row and column totals, one stacked bar chart for the
// charted pivot only, and the summary asked for after the rows.
func TestRenderSummary(t *testing.T) {
	rows := newGenRows(50)
	var rowsDone bool
	in := render.Input{Meta: testMeta(), Columns: disclosureColumns, Rows: rows,
		Summary: func(context.Context) (render.Summary, error) {
			rowsDone = rows.i > rows.n
			return testSummary(), nil
		}}
	f, path, _ := renderBook(t, in)
	if !rowsDone {
		t.Error("Summary was called before the rows were consumed")
	}
	if f.GetSheetName(0) != SummarySheet {
		t.Fatalf("first sheet %q", f.GetSheetName(0))
	}
	if v, _ := f.GetCellValue(SummarySheet, "A1"); v != "Disclosures to third parties" {
		t.Errorf("title %q", v)
	}
	want := map[string]string{
		"Parameters": "report=disclosures|from=2024-01-01|to=2024-02-01",
		"Report":     "Period=" + testMeta().Period + "|Times shown in=UTC (csv and json downloads always use UTC)",
		"Filters":    "none=every row of the period",
		"Totals":     "Detail rows=50|Disclosures=812344|Covered %=97.25",
		"Disclosures per recipient × verdict": "recipient_id=covered=no_consent=withdrawn=Total|" +
			"adtech-europe=10=5=1=16|analytics-co=20=0=2=22|crm-cloud=7=1=0=8|Total=37=6=3=46",
		"Records per purpose": "purpose=records=Total|billing=3=3|service=4=4|Total=7=7",
	}
	for label, w := range want {
		var got []string
		for _, r := range rowsAfter(t, f, SummarySheet, label) {
			got = append(got, strings.Join(r, "="))
		}
		if g := strings.Join(got, "|"); g != w {
			t.Errorf("%s:\n got %s\nwant %s", label, g, w)
		}
	}
	for cell, numFmt := range map[string]int{"B16": 3, "B17": 3, "B18": 4} {
		id, _ := f.GetCellStyle(SummarySheet, cell)
		if st, _ := f.GetStyle(id); st.NumFmt != numFmt {
			t.Errorf("%s number format %d, want %d", cell, st.NumFmt, numFmt)
		}
	}
	checkChart(t, f, path)
}

// checkChart asserts the package holds exactly one chart, a stacked bar
// chart with a series per verdict, drawn on the Summary sheet.
func checkChart(t *testing.T, f *excelize.File, path string) {
	t.Helper()
	charts := zipEntries(t, path, "xl/charts/chart")
	if len(charts) != 1 {
		t.Fatalf("charts %v, want exactly one (one pivot asks for a chart)", charts)
	}
	x := strings.ReplaceAll(zipEntry(t, path, charts[0]), "&#39;", "'")
	for _, s := range []string{`<barChart>`, `<barDir val="bar">`, `<grouping val="stacked">`,
		`<f>'Summary'!$A$22:$A$24</f>`, `<f>'Summary'!$D$22:$D$24</f>`, `<f>'Summary'!$B$21</f>`} {
		if !strings.Contains(x, s) {
			t.Errorf("chart lacks %s", s)
		}
	}
	if n := strings.Count(x, "<ser>"); n != 3 {
		t.Errorf("chart has %d series, want 3", n)
	}
	if !strings.Contains(sheetXML(t, f, path, SummarySheet), "<drawing ") {
		t.Error("the chart is not drawn on the Summary sheet")
	}
}

// TestRenderAbout checks the About sheet: what ran, when, by whom, the SQL
// in wrapped cells, rows per sheet and the digest, equal to DetailHasher's.
func TestRenderAbout(t *testing.T) {
	in := render.Input{Meta: testMeta(), Columns: disclosureColumns, Rows: newGenRows(2500)}
	f, _, res := renderBook(t, in, WithMaxSheetRows(1001))
	sha := hashOf(disclosureColumns, newGenRows(2500))
	if res.SHA256 != sha {
		t.Fatalf("result digest %s, want DetailHasher's %s", res.SHA256, sha)
	}
	m := testMeta()
	want := map[string]string{
		"Report": "Name=disclosures|Title=Disclosures to third parties|Period=" + m.Period +
			"|Times shown in=UTC (csv and json downloads always use UTC)" +
			"|Columns=the Legend sheet lists each column's identifier (the csv and json column names) and meaning",
		"Parameters":                         "from=2024-01-01|to=2024-02-01",
		"Detail rows (header rows excluded)": "Detail=1000|Detail (2)=1000|Detail (3)=500|Total=2500",
		"Integrity":                          "SHA-256 of detail data=" + sha + "|=" + hashNote,
		"SQL":                                "detail=" + m.SQL[0].SQL + "|summary=" + m.SQL[1].SQL,
	}
	for label, w := range want {
		var got []string
		for _, r := range rowsAfter(t, f, AboutSheet, label) {
			got = append(got, strings.Join(r, "="))
		}
		if g := strings.Join(got, "|"); g != w {
			t.Errorf("%s:\n got %s\nwant %s", label, g, w)
		}
	}
	gen := rowsAfter(t, f, AboutSheet, "Generation")
	if len(gen) != 4 || gen[1][1] != "officer-alice" || gen[2][1] != "v1.2.3-test" ||
		gen[3][0] != "Consent ledger" || gen[3][1] != m.Ledger {
		t.Fatalf("generation rows %q", gen)
	}
	serial, err := strconv.ParseFloat(gen[0][1], 64)
	if d := serialTime(serial).Sub(m.GeneratedAt); err != nil || d < 0 || d > 20*time.Microsecond {
		t.Errorf("generated at %q, want a date serial for %v", gen[0][1], m.GeneratedAt)
	}
	for r := 1; r <= 40; r++ {
		if v, _ := f.GetCellValue(AboutSheet, "B"+strconv.Itoa(r)); v == m.SQL[0].SQL {
			id, _ := f.GetCellStyle(AboutSheet, "B"+strconv.Itoa(r))
			if st, _ := f.GetStyle(id); st.Alignment == nil || !st.Alignment.WrapText {
				t.Errorf("SQL cell B%d is not wrapped", r)
			}
			if h, _ := f.GetRowHeight(AboutSheet, r); h != 3*lineHeight {
				t.Errorf("SQL row %d height %v, want three lines", r, h)
			}
			return
		}
	}
	t.Error("SQL statement not found on the About sheet")
}

// TestRenderLongSQL splits a statement longer than a cell over rows.
func TestRenderLongSQL(t *testing.T) {
	line := "SELECT 'é' AS x, count() FROM privaudit.access_events FINAL WHERE purpose = ? -- padding\n"
	long := strings.TrimSpace(strings.Repeat(line, 900)) // ~80k bytes
	m := testMeta()
	m.SQL = []render.NamedSQL{{Name: "detail", SQL: long}}
	f, _, _ := renderBook(t, render.Input{Meta: m, Columns: trickyColumns, Rows: &sliceRows{}})
	rows := rowsAfter(t, f, AboutSheet, "SQL")
	var got strings.Builder
	for i, r := range rows {
		name := "detail"
		if i > 0 {
			name += " (continued)"
		}
		if r[0] != name || utf8.RuneCountInString(r[1]) > excelize.TotalCellChars {
			t.Fatalf("row %d: %q, %d characters", i, r[0], utf8.RuneCountInString(r[1]))
		}
		got.WriteString(r[1])
	}
	if len(rows) < 3 || got.String() != long {
		t.Fatalf("%d rows rejoin to %d bytes, want %d", len(rows), got.Len(), len(long))
	}
}

// TestSplitCell cuts on rune boundaries when a piece has no line break.
func TestSplitCell(t *testing.T) {
	s := strings.Repeat("日本語", 40000)
	parts := splitCell(s)
	if len(parts) < 2 || strings.Join(parts, "") != s {
		t.Fatalf("%d parts do not rejoin", len(parts))
	}
	for i, p := range parts {
		if !utf8.ValidString(p) || len(p) > maxCellBytes {
			t.Fatalf("part %d: %d bytes, valid %v", i, len(p), utf8.ValidString(p))
		}
	}
}

// errBroken is the failure of test rows and writers.
var errBroken = errors.New("connection reset")

// TestRenderErrors checks that failures surface with context.
func TestRenderErrors(t *testing.T) {
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	cols := trickyColumns
	cases := []struct {
		name string
		ctx  context.Context
		in   render.Input
		want string
		is   error
	}{
		{"rows error", context.Background(), render.Input{Columns: cols,
			Rows: &sliceRows{rows: trickyRows()[:2], err: errBroken}}, "read rows", errBroken},
		{"short row", context.Background(), render.Input{Columns: cols,
			Rows: &sliceRows{rows: [][]any{{int64(1)}}}}, "row 1 has 1 values for 7 columns", nil},
		{"canceled", canceled, render.Input{Columns: cols, Rows: &sliceRows{rows: trickyRows()}}, "", context.Canceled},
		{"summary", context.Background(), render.Input{Columns: cols, Rows: &sliceRows{},
			Summary: func(context.Context) (render.Summary, error) { return render.Summary{}, errBroken }}, "summary", errBroken},
		{"no columns", context.Background(), render.Input{Rows: &sliceRows{}}, "defines no columns", nil},
		{"no rows", context.Background(), render.Input{Columns: cols}, "no rows iterator", nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.in.Meta.Report = "violations"
			_, err := New().Render(c.ctx, io.Discard, c.in)
			if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "violations") ||
				c.is != nil && !errors.Is(err, c.is) {
				t.Fatalf("err = %v, want one naming the report, containing %q, wrapping %v", err, c.want, c.is)
			}
		})
	}
}

// TestRenderProgress reports progress every 100,000 rows and at the end.
func TestRenderProgress(t *testing.T) {
	var got []int64
	in := render.Input{Columns: []render.Column{{Name: "n", Kind: render.Int}}, Rows: &countRows{n: 250_001},
		Progress: func(n int64) { got = append(got, n) }}
	res, err := New().Render(context.Background(), io.Discard, in)
	if err != nil {
		t.Fatal(err)
	}
	if res.Rows != 250_001 || fmt.Sprint(got) != "[100000 200000 250001]" {
		t.Fatalf("rows %d, progress %v", res.Rows, got)
	}
}

// countRows yields the integers 1..n.
type countRows struct {
	n, i int64
	v    [1]any
}

func (c *countRows) Next() bool    { c.i++; return c.i <= c.n }
func (c *countRows) Values() []any { c.v[0] = c.i; return c.v[:] }
func (c *countRows) Err() error    { return nil }

// TestColumnWidth uses the hint, else the kind and name.
func TestColumnWidth(t *testing.T) {
	cases := map[render.Column]float64{
		{Name: "x", Width: 42}:                         42,
		{Name: "x", Width: 1000}:                       excelize.MaxColumnWidth,
		{Name: "covered_pct", Kind: render.Float}:      14,
		{Name: "after_hours_events", Kind: render.Int}: 21,
		{Name: "first_seen", Kind: render.Time}:        26,
		{Name: "purposes", Kind: render.List}:          32,
		{Name: "consent_id"}:                           28,
		{Name: "detail"}:                               60,
		{Name: "status"}:                               16,
	}
	for c, want := range cases {
		if got := columnWidth(c, time.UTC); got != want {
			t.Errorf("%s: width %v, want %v", c.Name, got, want)
		}
	}
}

// TestContentType checks the renderer's identity.
func TestContentType(t *testing.T) {
	r := New()
	if r.Format() != "xlsx" || !regexp.MustCompile(`^application/vnd\.openxmlformats-officedocument\.spreadsheetml\.sheet$`).MatchString(r.ContentType()) {
		t.Fatalf("format %q, content type %q", r.Format(), r.ContentType())
	}
}
