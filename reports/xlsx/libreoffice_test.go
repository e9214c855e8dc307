package xlsx

import (
	"context"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/privaudit/privaudit/audit"
	"github.com/privaudit/privaudit/reports/render"
	"github.com/privaudit/privaudit/reports/xlsx/xlsxtest"
)

// findSoffice returns LibreOffice's binary (see xlsxtest.Soffice).
func findSoffice(t *testing.T) string { return xlsxtest.Soffice(t) }

// convertSheets converts the workbook at path to one csv per sheet with
// LibreOffice and returns them by sheet name.
func convertSheets(t *testing.T, soffice, path string) map[string][]byte {
	return xlsxtest.ConvertSheets(t, soffice, path)[0]
}

// trickyColumns and trickyRows exercise every value the csv renderer
// formats: quoting, leading zeros, formulas-looking text, unicode, time
// fractions and the edges of Excel's dates, integer precision, lists.
var trickyColumns = []render.Column{
	{Name: "id", Kind: render.Int},
	{Name: "text", Kind: render.String},
	{Name: "at", Kind: render.Time},
	{Name: "n", Kind: render.Int},
	{Name: "x", Kind: render.Float},
	{Name: "ok", Kind: render.Bool},
	{Name: "tags", Kind: render.List},
}

func trickyRows() [][]any {
	ts := func(s string) time.Time {
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			panic(err)
		}
		return t
	}
	paris := time.FixedZone("CET", 3600)
	return [][]any{
		{int64(1), "plain", ts("2024-01-02T03:04:05Z"), int64(0), 12.5, true, []string{"contact"}},
		{int64(2), "comma, and \"quotes\"", ts("2024-02-29T23:59:59.999Z"), int64(-1), -0.25, false, []string{"a", "b", "c"}},
		{int64(3), "line one\nline two", ts("2024-03-31T00:00:00.5Z"), int64(999_999_999_999_999), 0.1, true, []string{}},
		{int64(4), "  padded  ", ts("2024-06-01T12:00:00.05Z"), int64(1_000_000_000_000_000), 1234567.891, nil, nil},
		{int64(5), "0123", ts("2024-06-01T12:00:00.123456789Z"), int64(math.MinInt64), math.NaN(), true, []string{"x;y"}},
		{int64(6), "=1+1", ts("1900-03-01T00:00:00Z"), uint64(math.MaxUint64), math.Inf(1), false, []string{"é", "日本"}},
		{int64(7), "1e5", ts("1899-12-31T23:59:59Z"), int64(42), 99.99, true, []string{"health"}},
		{int64(8), "TRUE", ts("9999-12-31T23:59:59.999Z"), int(7), float64(3), false, []string{"", "b"}},
		{int64(9), "émoji 🙂 日本語", time.Time{}, nil, nil, nil, []string{"a"}},
		{int64(10), "", time.Date(2024, 7, 1, 1, 30, 0, 10_000_000, paris), int64(5), 1e-3, true, []string{"a"}},
		{int64(11), "tab\there", ts("1970-01-01T00:00:00Z"), int64(123456789012345), 2.5e6, true, nil},
		{int64(12), nil, ts("2023-12-31T23:59:59.9Z"), int64(-999_999_999_999_999), -7.0, false, []string{"p", "q"}},
	}
}

// randomInstants are n instants spread over Excel's dates (1900-03-01 to
// 9999), a third with a random millisecond, a third on x.999 and a third on
// whole seconds: the cases where a serial a hair short would display the
// previous millisecond or second.
func randomInstants(n int) [][]any {
	r := rand.New(rand.NewPCG(3, 4))
	lo := minExcelTime.UnixMilli()
	hi := maxExcelTime.UnixMilli()
	rows := make([][]any, n)
	for i := range rows {
		ms := lo + r.Int64N(hi-lo)
		switch i % 3 {
		case 1:
			ms += 999 - ms%1000
		case 2:
			ms -= ms % 1000
		}
		rows[i] = []any{time.UnixMilli(ms).UTC()}
	}
	return rows
}

// TestRenderMatchesLibreOffice opens the workbook with LibreOffice Calc,
// exports every detail sheet to csv and asserts that the rows, sheet after
// sheet, equal the csv renderer's output for the same rows, and that both
// renderers report the same SHA-256.
func TestRenderMatchesLibreOffice(t *testing.T) {
	soffice := findSoffice(t)
	cases := []struct {
		name    string
		cols    []render.Column
		rows    func() render.Rows
		maxRows int
		sheets  int
	}{
		{"tricky", trickyColumns, func() render.Rows { return &sliceRows{rows: trickyRows()} }, 5, 3},
		{"disclosures", disclosureColumns, func() render.Rows { return newGenRows(2500) }, 1000, 3},
		{"instants", []render.Column{{Name: "at", Kind: render.Time}}, func() render.Rows { return &sliceRows{rows: randomInstants(20000)} }, MaxSheetRows, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "report.xlsx")
			summary := func(context.Context) (render.Summary, error) { return testSummary(), nil }
			res := renderFile(t, path, render.Input{Meta: testMeta(), Columns: tc.cols, Rows: tc.rows(),
				Summary: summary}, WithMaxSheetRows(tc.maxRows))
			if res.Sheets != tc.sheets {
				t.Fatalf("detail sheets = %d, want %d", res.Sheets, tc.sheets)
			}
			csvText, csvRes := csvOf(t, tc.cols, tc.rows())
			if res.SHA256 != csvRes.SHA256 {
				t.Fatalf("xlsx digest %s, csv renderer's %s", res.SHA256, csvRes.SHA256)
			}
			want := unneutralised(readCSV(t, csvText))
			sheets := convertSheets(t, soffice, path)
			got := detailFromLibreOffice(t, sheets, res.Sheets)
			compareRecords(t, append([][]string{Identifiers(t, got[0], tc.cols)}, got[1:]...), want)
			checkOtherSheets(t, sheets, res)
		})
	}
}

// Identifiers maps the detail header a spreadsheet shows back to the
// column identifiers the csv renderer writes, failing on a header that is
// not the column's HeaderText in UTC.
func Identifiers(t testing.TB, header []string, cols []render.Column) []string {
	t.Helper()
	if len(header) != len(cols) {
		t.Fatalf("header %q has %d cells for %d columns", header, len(header), len(cols))
	}
	out := make([]string, len(header))
	for i, h := range header {
		if want := HeaderText(cols[i], time.UTC); h != want {
			t.Fatalf("header cell %d is %q, want %q (column %s)", i+1, h, want, cols[i].Name)
		}
		out[i] = cols[i].Name
	}
	return out
}

// unneutralised undoes the csv's formula neutralisation (render.FormulaSafe):
// the xlsx keeps such text exact, in inline strings no spreadsheet runs.
func unneutralised(recs [][]string) [][]string {
	for _, rec := range recs {
		for i, c := range rec {
			if len(c) > 1 && c[0] == '\'' && strings.ContainsRune("=+-@\t\r", rune(c[1])) {
				rec[i] = c[1:]
			}
		}
	}
	return recs
}

// detailFromLibreOffice concatenates the detail sheets' csv exports,
// checking every sheet repeats the header, and returns header plus rows.
func detailFromLibreOffice(t *testing.T, sheets map[string][]byte, n int) [][]string {
	t.Helper()
	var all [][]string
	for i := 1; i <= n; i++ {
		data, ok := sheets[detailSheetName(i)]
		if !ok {
			t.Fatalf("libreoffice exported no sheet %q (got %d sheets)", detailSheetName(i), len(sheets))
		}
		recs := readCSV(t, data)
		if i == 1 {
			all = append(all, recs...)
			continue
		}
		if len(recs) == 0 || !equalRecord(recs[0], all[0]) {
			t.Fatalf("sheet %s header %v, want %v", detailSheetName(i), recs[:min(1, len(recs))], all[0])
		}
		all = append(all, recs[1:]...)
	}
	if _, ok := sheets[detailSheetName(n+1)]; ok {
		t.Fatalf("unexpected sheet %q", detailSheetName(n+1))
	}
	return all
}

// checkOtherSheets asserts LibreOffice read the Summary (title, a pivot
// total) and About (row total, digest) sheets.
func checkOtherSheets(t *testing.T, sheets map[string][]byte, res render.Result) {
	t.Helper()
	checks := map[string][]string{
		SummarySheet: {"Disclosures to third parties", "adtech-europe,10,5,1,16"},
		AboutSheet:   {"Total," + thousands(res.Rows), res.SHA256},
		LegendSheet:  LegendLines(),
	}
	for sheet, wants := range checks {
		text := strings.ReplaceAll(string(sheets[sheet]), `"`, "")
		for _, w := range wants {
			if !strings.Contains(text, w) {
				t.Errorf("LibreOffice's %s sheet lacks %q:\n%s", sheet, w, firstLines([]byte(text), 30))
			}
		}
	}
}

// LegendLines are lines the Legend sheet's csv export holds, quotes
// removed: each verdict with its meaning and rule from audit.VerdictMeaning,
// in SPEC order, and what a disclosure is.
func LegendLines() []string {
	var out []string
	for _, v := range audit.VerdictNames() {
		meaning, rule, _ := audit.VerdictMeaning(v)
		out = append(out, v+","+meaning+","+rule)
	}
	return append(out, "Disclosure,"+audit.DisclosureMeaning, "to is exclusive")
}

// thousands formats n as "#,##0" displays it.
func thousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// compareRecords fails on the first differing record.
func compareRecords(t *testing.T, got, want [][]string) {
	t.Helper()
	for i := range min(len(got), len(want)) {
		if !equalRecord(got[i], want[i]) {
			t.Fatalf("record %d differs:\n got %q\nwant %q", i, got[i], want[i])
		}
	}
	if len(got) != len(want) {
		t.Fatalf("%d records, want %d", len(got), len(want))
	}
}

func equalRecord(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// renderFile renders in to path and returns the result, checking its byte
// count against the file.
func renderFile(t testing.TB, path string, in render.Input, opts ...Option) render.Result {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	res, err := New(opts...).Render(context.Background(), f, in)
	if err != nil {
		t.Fatalf("render: %v", err)
	}
	if fi, err := f.Stat(); err != nil || fi.Size() != res.Bytes {
		t.Fatalf("result says %d bytes, file has %v (err %v)", res.Bytes, fi.Size(), err)
	}
	return res
}

// testMeta is the metadata of test renderings.
func testMeta() render.Meta {
	return render.Meta{
		Report: "disclosures", Title: "Disclosures to third parties",
		Params:      []render.Param{{Name: "from", Value: "2024-01-01"}, {Name: "to", Value: "2024-02-01"}},
		Period:      "1 Jan 2024 – 1 Feb 2024 (to is exclusive: up to 31 Jan 2024 inclusive)",
		GeneratedAt: time.Date(2024, 2, 1, 6, 0, 0, 250_000_000, time.UTC),
		GeneratedBy: "officer-alice", Version: "v1.2.3-test",
		Ledger: "every record accepted before 2024-02-01T05:59:59.123456789Z",
		SQL: []render.NamedSQL{
			{Name: "detail", SQL: "SELECT event_id, occurred_at\nFROM privaudit.access_events FINAL\nWHERE occurred_at >= ? AND occurred_at < ?"},
			{Name: "summary", SQL: "SELECT recipient_id, verdict, count() FROM privaudit.access_events FINAL GROUP BY recipient_id, verdict"},
		},
	}
}
