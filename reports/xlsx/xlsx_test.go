package xlsx

import (
	"archive/zip"
	"context"
	"fmt"
	"io"
	"math"
	"math/big"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/privaudit/privaudit/reports/render"
)

// renderBook renders in to a temporary file and opens it with excelize.
func renderBook(t *testing.T, in render.Input, opts ...Option) (*excelize.File, string, render.Result) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "report.xlsx")
	res := renderFile(t, path, in, opts...)
	f, err := excelize.OpenFile(path)
	if err != nil {
		t.Fatalf("open rendered workbook: %v", err)
	}
	t.Cleanup(func() { _ = f.Close() })
	return f, path, res
}

// hashOf is render.DetailHasher's digest of rows.
func hashOf(cols []render.Column, rows render.Rows) string {
	h := render.NewDetailHasher(cols)
	for rows.Next() {
		h.Add(cols, rows.Values())
	}
	return h.Sum()
}

// zipEntry returns one part of the xlsx package.
func zipEntry(t *testing.T, path, name string) string {
	t.Helper()
	zr, err := zip.OpenReader(path)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	for _, f := range zr.File {
		if f.Name != name {
			continue
		}
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		defer rc.Close()
		b, err := io.ReadAll(rc)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	t.Fatalf("no %s in the package", name)
	return ""
}

// zipEntries lists the package parts whose name starts with prefix.
func zipEntries(t *testing.T, path, prefix string) []string {
	t.Helper()
	zr, err := zip.OpenReader(path)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	var out []string
	for _, f := range zr.File {
		if strings.HasPrefix(f.Name, prefix) {
			out = append(out, f.Name)
		}
	}
	return out
}

// sheetXML returns a worksheet's XML (excelize names parts by sheet ID).
func sheetXML(t *testing.T, f *excelize.File, path, sheet string) string {
	t.Helper()
	for id, name := range f.GetSheetMap() {
		if name == sheet {
			return zipEntry(t, path, fmt.Sprintf("xl/worksheets/sheet%d.xml", id))
		}
	}
	t.Fatalf("no sheet %s", sheet)
	return ""
}

// checkDetailSheet asserts the header (names, bold), the frozen pane and the
// autofilter over the header and the sheet's data rows.
func checkDetailSheet(t *testing.T, f *excelize.File, path, sheet string, cols []render.Column, dataRows int) {
	t.Helper()
	for i, c := range cols {
		cell, _ := excelize.CoordinatesToCellName(i+1, 1)
		if v, _ := f.GetCellValue(sheet, cell); v != HeaderText(c, time.UTC) {
			t.Errorf("%s!%s = %q, want header %q", sheet, cell, v, HeaderText(c, time.UTC))
		}
		id, err := f.GetCellStyle(sheet, cell)
		if err != nil {
			t.Fatal(err)
		}
		if st, err := f.GetStyle(id); err != nil || st.Font == nil || !st.Font.Bold {
			t.Errorf("%s!%s header is not bold (style %d, err %v)", sheet, cell, id, err)
		}
	}
	p, err := f.GetPanes(sheet)
	if err != nil || !p.Freeze || p.YSplit != 1 || p.XSplit != 0 || p.TopLeftCell != "A2" {
		t.Errorf("%s panes = %+v (err %v), want the header row frozen", sheet, p, err)
	}
	last, _ := excelize.ColumnNumberToName(len(cols))
	ref := "A1:" + last + strconv.Itoa(dataRows+1)
	x := strings.ReplaceAll(sheetXML(t, f, path, sheet), "$", "")
	if !strings.Contains(x, `<autoFilter ref="`+ref+`"`) {
		t.Errorf("%s has no autoFilter over %s", sheet, ref)
	}
	var found bool
	for _, dn := range f.GetDefinedName() {
		if dn.Name == "_xlnm._FilterDatabase" && dn.Scope == sheet {
			found = true
			if want := "'" + sheet + "'!" + ref; strings.ReplaceAll(dn.RefersTo, "$", "") != want {
				t.Errorf("%s filter database = %s, want %s", sheet, dn.RefersTo, want)
			}
		}
	}
	if !found {
		t.Errorf("%s has no _xlnm._FilterDatabase name", sheet)
	}
}

// TestRenderWorkbook checks the sheets, the detail sheet's header, panes,
// autofilter and widths, and that every detail cell holds its value with
// the right type: numbers, real dates with a date format, text.
func TestRenderWorkbook(t *testing.T) {
	in := render.Input{Meta: testMeta(), Columns: disclosureColumns, Rows: newGenRows(50)}
	f, path, res := renderBook(t, in)
	if got := strings.Join(f.GetSheetList(), ","); got != "Summary,Detail,Legend,About" {
		t.Fatalf("sheets = %s", got)
	}
	if f.GetActiveSheetIndex() != 0 {
		t.Errorf("active sheet %d, want the Summary (0)", f.GetActiveSheetIndex())
	}
	if res.Rows != 50 || res.Sheets != 1 || res.SHA256 != hashOf(disclosureColumns, newGenRows(50)) {
		t.Errorf("result = %+v", res)
	}
	checkDetailSheet(t, f, path, DetailSheet, disclosureColumns, 50)
	for col, want := range map[string]float64{"A": 28, "B": 26, "C": 28, "E": 17, "G": 32, "H": 15, "R": 60} {
		if w, err := f.GetColWidth(DetailSheet, col); err != nil || w != want {
			t.Errorf("width of %s = %v (err %v), want %v", col, w, err, want)
		}
	}
	checkDetailValues(t, f, DetailSheet, disclosureColumns, newGenRows(50), 2)
}

// checkDetailValues compares sheet's rows from row first on with rows:
// times as date serials formatted as dates, integers as numbers formatted
// "0", everything else as render.Text.
func checkDetailValues(t *testing.T, f *excelize.File, sheet string, cols []render.Column, rows render.Rows, first int) {
	t.Helper()
	for r := first; rows.Next(); r++ {
		for i, v := range rows.Values() {
			cell, _ := excelize.CoordinatesToCellName(i+1, r)
			checkCell(t, f, sheet, cell, cols[i].Kind, v)
		}
	}
}

// checkCell asserts one detail cell's type, style and value.
func checkCell(t *testing.T, f *excelize.File, sheet, cell string, k render.Kind, v any) {
	t.Helper()
	raw, err := f.GetCellValue(sheet, cell, excelize.Options{RawCellValue: true})
	if err != nil {
		t.Fatal(err)
	}
	typ, _ := f.GetCellType(sheet, cell)
	numeric := typ == excelize.CellTypeUnset || typ == excelize.CellTypeNumber
	id, _ := f.GetCellStyle(sheet, cell)
	st, _ := f.GetStyle(id)
	switch x := v.(type) {
	case time.Time:
		serial, err := strconv.ParseFloat(raw, 64)
		if !numeric || err != nil || st.CustomNumFmt == nil || !strings.HasPrefix(*st.CustomNumFmt, "yyyy-mm-dd") {
			t.Fatalf("%s = %q (type %v, style %+v): want a number with a date format", cell, raw, typ, st)
		}
		got := serialTime(serial)
		if d := got.Sub(x.Truncate(time.Millisecond)); d < 0 || d > 200*time.Microsecond {
			t.Fatalf("%s holds %v, want %v", cell, got, x)
		}
	case float64:
		if got, err := strconv.ParseFloat(raw, 64); !numeric || err != nil || got != x {
			t.Fatalf("%s = %q (type %v), want the number %v", cell, raw, typ, x)
		}
	case int64:
		if !numeric || raw != strconv.FormatInt(x, 10) || st.NumFmt != 1 {
			t.Fatalf("%s = %q (type %v, numfmt %d), want the number %d formatted \"0\"", cell, raw, typ, st.NumFmt, x)
		}
	default:
		want := render.Text(k, v)
		if raw != want || (want != "" && typ != excelize.CellTypeInlineString) {
			t.Fatalf("%s = %q (type %v), want the text %q", cell, raw, typ, want)
		}
	}
}

// serialTime converts a 1900-system date serial (from 1900-03-01) to UTC,
// to the microsecond.
func serialTime(serial float64) time.Time {
	days := math.Floor(serial)
	us := math.Round((serial - days) * 86400e6)
	return time.Unix((int64(days)-unixEpochSerial)*86400, 0).UTC().Add(time.Duration(us) * time.Microsecond)
}

// TestRenderContinuesAcrossSheets fills detail sheets to a small row limit
// and checks that no row is lost or duplicated, every sheet has its header,
// frozen pane and filter, and no empty sheet follows an exactly full one.
func TestRenderContinuesAcrossSheets(t *testing.T) {
	for _, n := range []int{2997, 2998} {
		t.Run(strconv.Itoa(n), func(t *testing.T) {
			in := render.Input{Meta: testMeta(), Columns: disclosureColumns, Rows: newGenRows(n)}
			f, path, res := renderBook(t, in, WithMaxSheetRows(1000))
			want := []string{"Summary", "Detail", "Detail (2)", "Detail (3)"}
			if n == 2998 {
				want = append(want, "Detail (4)")
			}
			want = append(want, "Legend", "About")
			if got := f.GetSheetList(); strings.Join(got, ",") != strings.Join(want, ",") {
				t.Fatalf("sheets = %q, want %q", got, want)
			}
			if res.Rows != int64(n) || res.Sheets != len(want)-3 {
				t.Fatalf("result = %+v", res)
			}
			var ids []string
			for _, sheet := range want[1 : len(want)-2] {
				rows, err := f.GetRows(sheet)
				if err != nil {
					t.Fatal(err)
				}
				checkDetailSheet(t, f, path, sheet, disclosureColumns, len(rows)-1)
				if len(rows) > 1000 {
					t.Fatalf("%s has %d rows, limit 1000", sheet, len(rows))
				}
				for _, r := range rows[1:] {
					ids = append(ids, r[0])
				}
			}
			g := newGenRows(n)
			for i := 0; g.Next(); i++ {
				if i >= len(ids) || ids[i] != g.Values()[0] {
					t.Fatalf("row %d: event_id %q missing or out of order (%d rows read)", i+1, g.Values()[0], len(ids))
				}
			}
			if len(ids) != n {
				t.Fatalf("%d rows read back, want %d", len(ids), n)
			}
		})
	}
}

// TestRenderSheetByteLimit continues on a new sheet when a sheet's XML
// would grow past the zip entry limit, before the row limit.
func TestRenderSheetByteLimit(t *testing.T) {
	r := New(WithMaxSheetRows(1000)).(*Renderer)
	r.opts.maxSheetBytes = 64 << 10
	path := filepath.Join(t.TempDir(), "report.xlsx")
	var res render.Result
	func() {
		out, err := os.Create(path)
		if err != nil {
			t.Fatal(err)
		}
		defer out.Close()
		in := render.Input{Meta: testMeta(), Columns: disclosureColumns, Rows: newGenRows(500)}
		if res, err = r.Render(context.Background(), out, in); err != nil {
			t.Fatal(err)
		}
	}()
	if res.Sheets < 2 || res.Rows != 500 {
		t.Fatalf("result = %+v, want several sheets under a 64 KiB estimate", res)
	}
	f, err := excelize.OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	total := 0
	for i := 1; i <= res.Sheets; i++ {
		rows, err := f.GetRows(detailSheetName(i))
		if err != nil {
			t.Fatal(err)
		}
		total += len(rows) - 1
	}
	if total != 500 {
		t.Fatalf("%d rows over %d sheets, want 500", total, res.Sheets)
	}
}

// TestRenderEmpty renders no rows: a header-only Detail sheet and the
// digest of the header alone.
func TestRenderEmpty(t *testing.T) {
	in := render.Input{Meta: testMeta(), Columns: disclosureColumns, Rows: &sliceRows{}}
	f, path, res := renderBook(t, in)
	if res.Rows != 0 || res.Sheets != 1 || res.SHA256 != hashOf(disclosureColumns, &sliceRows{}) {
		t.Fatalf("result = %+v", res)
	}
	checkDetailSheet(t, f, path, DetailSheet, disclosureColumns, 0)
	if rows, _ := f.GetRows(DetailSheet); len(rows) != 1 {
		t.Fatalf("Detail has %d rows, want the header only", len(rows))
	}
}

// TestRenderCellValues reads back the values Excel cannot hold natively:
// they are written as the csv renderer's text, the rest as numbers/dates.
func TestRenderCellValues(t *testing.T) {
	rows := trickyRows()
	in := render.Input{Meta: testMeta(), Columns: trickyColumns, Rows: &sliceRows{rows: rows}}
	f, _, _ := renderBook(t, in)
	for r, row := range rows {
		for i, v := range row {
			cell, _ := excelize.CoordinatesToCellName(i+1, r+2)
			checkCell(t, f, DetailSheet, cell, trickyColumns[i].Kind, expectedCell(v))
		}
	}
}

// expectedCell is how checkCell should find v: integers as int64 numbers,
// finite floats as numbers, Excel dates as dates, the rest as their text.
func expectedCell(v any) any {
	switch x := v.(type) {
	case time.Time:
		if _, _, ok := excelTime(x); ok && !x.IsZero() {
			return x
		}
	case int64:
		if x < maxExactInt && x > -maxExactInt {
			return x
		}
	case int:
		return int64(x)
	case float64:
		if !math.IsNaN(x) && !math.IsInf(x, 0) {
			return x
		}
	}
	return render.Text(render.String, v)
}

// TestExcelTime checks date serials against known values: never below the
// instant, less than 0.2 ms above, and the text fallback where Excel's 15
// digits cannot hold the millisecond.
func TestExcelTime(t *testing.T) {
	cases := []struct {
		at     string
		digits int
		ok     bool
		slack  float64 // µs the serial may exceed the instant by
	}{
		{"1900-03-01T00:00:00Z", 0, true, 20},
		{"1970-01-01T00:00:00Z", 0, true, 20},
		{"2024-01-01T12:00:00Z", 0, true, 20},
		{"2024-01-01T00:00:01.5Z", 1, true, 20},
		{"2024-01-01T00:00:00.25Z", 2, true, 20},
		{"2024-01-01T23:59:59.999Z", 3, true, 20},
		{"2024-01-01T23:59:59.999999999Z", 3, true, 20},
		{"2200-06-30T23:59:59.001Z", 3, true, 200},
		{"9999-12-31T23:59:59Z", 0, true, 2000},
		{"5000-01-01T00:00:00.001Z", 0, false, 0},
		{"1900-02-28T23:59:59Z", 0, false, 0},
		{"1899-12-30T00:00:00Z", 0, false, 0},
	}
	if _, _, ok := excelTime(maxExcelTime); ok {
		t.Errorf("year 10000 accepted as an Excel date")
	}
	for _, c := range cases {
		at, err := time.Parse(time.RFC3339Nano, c.at)
		if err != nil {
			t.Fatal(err)
		}
		serial, digits, ok := excelTime(at)
		if ok != c.ok || digits != c.digits {
			t.Errorf("%s: digits %d ok %v, want %d %v", c.at, digits, ok, c.digits, c.ok)
			continue
		}
		if !ok {
			continue
		}
		// The exact serial: days since 1899-12-30, to the millisecond.
		exact := new(big.Rat).SetFrac64(at.UnixMilli()+unixEpochSerial*msPerDay, msPerDay)
		diff := new(big.Rat).Sub(new(big.Rat).SetFloat64(serial), exact)
		if d, _ := diff.Mul(diff, big.NewRat(86400e6, 1)).Float64(); d < 0 || d > c.slack {
			t.Errorf("%s: serial %v is %.3f µs from the instant, want [0, %v]", c.at, serial, d, c.slack)
		}
		if s := strconv.FormatFloat(serial, 'f', -1, 64); len(strings.TrimLeft(strings.ReplaceAll(s, ".", ""), "0")) > 15 {
			t.Errorf("%s: serial %s has more than 15 significant digits", c.at, s)
		}
	}
}
