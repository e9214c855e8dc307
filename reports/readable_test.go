package reports

import (
	"bytes"
	"context"
	"encoding/csv"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/xuri/excelize/v2"

	"github.com/privaudit/privaudit/audit"
	"github.com/privaudit/privaudit/audit/apierr"
	"github.com/privaudit/privaudit/audit/auth"
	"github.com/privaudit/privaudit/audit/ingest/ingesttest"
	"github.com/privaudit/privaudit/reports/render"
	"github.com/privaudit/privaudit/reports/xlsx"
	"github.com/privaudit/privaudit/reports/xlsx/xlsxtest"
)

// goldenParams are the parameters each report needs on the golden data.
var goldenParams = map[string]map[string]string{"subject-access": {"subject_id": "cust-01"}, CustomerSubjectAccess: {"subject_id": "cust-01"}}

// Golden days: on 9 Oct 2026 one disclosure happened, covered.
var (
	oct9  = time.Date(2026, 10, 9, 0, 0, 0, 0, time.UTC)
	oct10 = time.Date(2026, 10, 10, 0, 0, 0, 0, time.UTC)
)

// runXLSX runs req as xlsx into dir/NAME.xlsx and opens it.
func runXLSX(t *testing.T, r *Runner, req RunRequest, dir string) (string, *excelize.File) {
	t.Helper()
	path := filepath.Join(dir, req.Report+".xlsx")
	fh, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	req.Format, req.Actor, req.Out = "xlsx", "test-officer", fh
	if _, err := r.Run(context.Background(), req); err != nil {
		t.Fatalf("run %s: %v", req.Report, err)
	}
	if err := fh.Close(); err != nil {
		t.Fatal(err)
	}
	f, err := excelize.OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = f.Close() })
	return path, f
}

// TestEveryReportReadsInLibreOffice renders every report of the catalog
// as xlsx and csv, opens each workbook with LibreOffice, and checks that
// its Detail sheet exported to csv equals the csv renderer's output (the
// header through the plain-word → identifier mapping, the rows exactly),
// that the Legend sheet explains every verdict with audit.VerdictMeaning's
// sentence and rule, and that no header is clipped.
func TestEveryReportReadsInLibreOffice(t *testing.T) {
	soffice := xlsxtest.Soffice(t)
	env := goldenEnv(t, ingesttest.Options{})
	r := newTestRunner(t, env, nil)
	dir := t.TempDir()
	defs := r.Catalog().List()
	paths := make([]string, len(defs))
	want := make([][][]string, len(defs))
	for i, d := range defs {
		want[i], _ = runCSV(t, r, d.Name, goldenParams[d.Name])
		var f *excelize.File
		paths[i], f = runXLSX(t, r, RunRequest{Report: d.Name, From: octFrom, To: octTo, Params: goldenParams[d.Name]}, dir)
		checkHeaderWidths(t, f, d)
	}
	sheets := xlsxtest.ConvertSheets(t, soffice, paths...)
	for i, d := range defs {
		if _, ok := sheets[i]["Detail (2)"]; ok {
			t.Fatalf("%s: the golden data fills one detail sheet", d.Name)
		}
		got, err := csv.NewReader(bytes.NewReader(sheets[i][xlsx.DetailSheet])).ReadAll()
		if err != nil || len(got) == 0 {
			t.Fatalf("%s: LibreOffice's Detail csv: %v", d.Name, err)
		}
		for j, c := range d.Columns {
			if j < len(got[0]) && got[0][j] != xlsx.HeaderText(c, time.UTC) {
				t.Errorf("%s: header %d is %q, want %q", d.Name, j+1, got[0][j], xlsx.HeaderText(c, time.UTC))
			}
			if c.Label == "" || c.Label == c.Name || c.Description == "" {
				t.Errorf("%s: column %s has no plain-word label or meaning (reports/columns.go)", d.Name, c.Name)
			}
		}
		got[0] = columnNames(d)
		if !slices.EqualFunc(got, want[i], slices.Equal) {
			t.Errorf("%s: LibreOffice's Detail csv differs from the csv renderer's:\n got %q\nwant %q", d.Name, got, want[i])
		}
		legend := strings.ReplaceAll(string(sheets[i][xlsx.LegendSheet]), `"`, "")
		if d.Audience == AudienceCustomer {
			cells, err := csv.NewReader(bytes.NewReader(sheets[i][xlsx.LegendSheet])).ReadAll()
			if err != nil {
				t.Fatalf("%s: LibreOffice's Legend csv: %v", d.Name, err)
			}
			for _, row := range cells {
				for _, c := range row {
					if slices.Contains(audit.VerdictNames(), c) || strings.Contains(c, "_") {
						t.Errorf("%s: the customer's Legend shows the code %q", d.Name, c)
					}
				}
			}
			if !strings.Contains(legend, "to is exclusive") {
				t.Errorf("%s: the Legend does not say that to is exclusive:\n%s", d.Name, legend)
			}
			continue
		}
		for _, v := range audit.VerdictNames() {
			meaning, rule, _ := audit.VerdictMeaning(v)
			if !strings.Contains(legend, v+","+meaning+","+rule) {
				t.Errorf("%s: the Legend lacks verdict %s as %q", d.Name, v, meaning)
			}
		}
		if !strings.Contains(legend, audit.DisclosureMeaning) || !strings.Contains(legend, "to is exclusive") {
			t.Errorf("%s: the Legend does not say what a disclosure is or that to is exclusive:\n%s", d.Name, legend)
		}
	}
}

// checkHeaderWidths asserts that every detail column is wide enough for
// its header and the autofilter button (3 characters), and every Summary
// column holding a verdict name in a pivot header at least as wide as it.
func checkHeaderWidths(t *testing.T, f *excelize.File, d Definition) {
	t.Helper()
	for i, c := range d.Columns {
		col, _ := excelize.ColumnNumberToName(i + 1)
		h := xlsx.HeaderText(c, time.UTC)
		if w, _ := f.GetColWidth(xlsx.DetailSheet, col); w < float64(utf8.RuneCountInString(h)+3) {
			t.Errorf("%s: Detail column %s (%q) is %v wide: the header is clipped", d.Name, col, h, w)
		}
	}
	rows, err := f.GetRows(xlsx.SummarySheet)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		for j, v := range r {
			if j == 0 || !slices.Contains(Verdicts, v) {
				continue
			}
			col, _ := excelize.ColumnNumberToName(j + 1)
			if w, _ := f.GetColWidth(xlsx.SummarySheet, col); w < float64(len(v)+1) {
				t.Errorf("%s: Summary column %s holds verdict %s but is %v wide: clipped", d.Name, col, v, w)
			}
		}
	}
}

// TestVerdictPivotColumnsFixed: on a day with one covered disclosure and
// nothing else, every pivot keyed by verdict still shows every verdict
// (the violations pivots every violation verdict) in SPEC order, zeros
// included.
func TestVerdictPivotColumnsFixed(t *testing.T) {
	env := goldenEnv(t, ingesttest.Options{})
	r := newTestRunner(t, env, nil)
	for _, tc := range []struct {
		report string
		cols   []string
	}{{"disclosures", Verdicts}, {"recipients", Verdicts}} {
		sum := summaryIn(t, r, tc.report, oct9, oct10)
		p := sum.Pivots[0]
		if !slices.Equal(p.ColHeaders, tc.cols) || len(p.Rows) != 1 {
			t.Fatalf("%s pivot %q: columns %v, rows %v; want every verdict in SPEC order", tc.report, p.Title, p.ColHeaders, p.Rows)
		}
		for j, v := range p.Rows[0].Values {
			if want := float64(0); p.ColHeaders[j] == "covered" && v != 1 || p.ColHeaders[j] != "covered" && v != want {
				t.Errorf("%s: %s = %v", tc.report, p.ColHeaders[j], v)
			}
		}
	}
	if len(ViolationVerdicts) != 8 || ViolationVerdicts[0] != "no_consent" {
		t.Fatalf("violation verdicts %v", ViolationVerdicts)
	}
	// A day with one violation verdict only: 21 Oct, no_consent.
	sum := summaryIn(t, r, "violations", oct9.AddDate(0, 0, 12), oct9.AddDate(0, 0, 13))
	for _, p := range sum.Pivots {
		if !slices.Equal(p.ColHeaders, ViolationVerdicts) {
			t.Errorf("violations pivot %q columns %v, want %v", p.Title, p.ColHeaders, ViolationVerdicts)
		}
	}
}

// summaryIn is the summary of report over [from, to).
func summaryIn(t *testing.T, r *Runner, report string, from, to time.Time) render.Summary {
	t.Helper()
	cap := &captureRenderer{}
	r.o.Formats["capture"] = cap
	if _, err := r.Run(context.Background(), RunRequest{Report: report, From: from, To: to, Format: "capture",
		Actor: "t", Out: &bytes.Buffer{}, Params: goldenParams[report]}); err != nil {
		t.Fatal(err)
	}
	return cap.sum
}

// TestNoViolationsStated: a day without violations says so in words on
// the Summary sheet instead of an empty pivot, and states the period as
// dates with to marked exclusive.
func TestNoViolationsStated(t *testing.T) {
	env := goldenEnv(t, ingesttest.Options{})
	r := newTestRunner(t, env, nil)
	_, f := runXLSX(t, r, RunRequest{Report: "violations", From: oct9, To: oct10}, t.TempDir())
	text := xlsxtest.SheetText(t, f, xlsx.SummarySheet)
	for _, want := range []string{"No violations in this period.\n",
		"Period|9 Oct 2026 – 10 Oct 2026 (to is exclusive: up to 9 Oct 2026 inclusive)\n"} {
		if !strings.Contains(text, want) {
			t.Errorf("Summary lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "Total|0") {
		t.Errorf("Summary shows an empty pivot's Total 0:\n%s", text)
	}
	if about := xlsxtest.SheetText(t, f, xlsx.AboutSheet); !strings.Contains(about, "Period|9 Oct 2026 – 10 Oct 2026") {
		t.Errorf("About lacks the period:\n%s", about)
	}
	// With violations, no such sentence.
	_, f = runXLSX(t, r, RunRequest{Report: "violations", From: octFrom, To: octTo}, t.TempDir())
	if text := xlsxtest.SheetText(t, f, xlsx.SummarySheet); strings.Contains(text, "No violations") {
		t.Errorf("October has violations, yet:\n%s", text)
	}
}

// TestReportTimeZone: with a time zone the xlsx shows times in it and
// says so, while the csv of the same run stays in UTC; an unknown zone is
// refused by name.
func TestReportTimeZone(t *testing.T) {
	env := goldenEnv(t, ingesttest.Options{})
	r := newTestRunner(t, env, nil)
	const id = "e0000000-0000-4000-8000-000000000008" // 2026-10-14T23:59:59.999Z
	csvRow := byColumn(t, records(runCSV(t, r, "disclosures", nil)), "event_id")[id]
	if csvRow["occurred_at"] != "2026-10-14T23:59:59.999Z" {
		t.Fatalf("csv occurred_at %q, want UTC", csvRow["occurred_at"])
	}
	_, f := runXLSX(t, r, RunRequest{Report: "disclosures", From: octFrom, To: octTo, TimeZone: "Europe/Paris"}, t.TempDir())
	rows, err := f.GetRows(xlsx.DetailSheet)
	if err != nil {
		t.Fatal(err)
	}
	if rows[0][1] != "Occurred at (Europe/Paris)" {
		t.Errorf("header %q, want the zone named", rows[0][1])
	}
	raw, err := f.GetRows(xlsx.DetailSheet, excelize.Options{RawCellValue: true})
	if err != nil {
		t.Fatal(err)
	}
	var shown, serial string
	for i, row := range rows[1:] {
		if row[0] == id {
			shown, serial = row[1], raw[i+1][1]
		}
	}
	// The serial is the wall-clock time in Paris (CEST, UTC+2); the
	// format shows it without the UTC "Z".
	days, err := strconv.ParseFloat(serial, 64)
	wall := time.Date(1899, 12, 30, 0, 0, 0, 0, time.UTC).Add(time.Duration(days * 86400 * 1e9)).Truncate(time.Millisecond)
	if err != nil || !wall.Equal(time.Date(2026, 10, 15, 1, 59, 59, 999e6, time.UTC)) || !strings.HasPrefix(shown, "2026-10-15 0") {
		t.Errorf("occurred_at %q shown as %q (%v), want 2026-10-15 01:59:59.999 (Paris, CEST)", serial, shown, wall)
	}
	summary := xlsxtest.SheetText(t, f, xlsx.SummarySheet)
	for _, want := range []string{"Times shown in|Europe/Paris", "Period|1 Oct 2026 02:00:00 – 1 Nov 2026 01:00:00"} {
		if !strings.Contains(summary, want) {
			t.Errorf("Summary lacks %q:\n%s", want, summary)
		}
	}
	_, err = r.Run(context.Background(), RunRequest{Report: "disclosures", From: octFrom, To: octTo, TimeZone: "Mars/Olympus",
		Format: "csv", Actor: "t", Out: &bytes.Buffer{}})
	if apierr.Code(err) != apierr.Invalid || !strings.Contains(err.Error(), `"Mars/Olympus"`) {
		t.Errorf("unknown zone: %v", err)
	}
}

// TestHTTPTimeZone: GET /v1/reports/{name} takes tz: the xlsx shows its
// times in that zone, the csv stays in UTC, an unknown zone is a 400
// naming it; the catalog lists each column's plain-word label.
func TestHTTPTimeZone(t *testing.T) {
	env := httpEnv(t, false)
	const q = "/v1/reports/disclosures?from=2026-10-01&to=2026-11-01&tz=Europe/Paris"
	resp, body, err := get(t, env, auth.RoleOfficer, q)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("xlsx with tz: %d %v %s", resp.StatusCode, err, body)
	}
	f, err := excelize.OpenReader(bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if v, _ := f.GetCellValue(xlsx.DetailSheet, "B1"); v != "Occurred at (Europe/Paris)" {
		t.Errorf("Detail B1 = %q, want the zone named", v)
	}
	resp, body, _ = get(t, env, auth.RoleOfficer, q+"&format=csv")
	if resp.StatusCode != 200 || !strings.Contains(string(body), ",2026-10-14T23:59:59.999Z,") {
		t.Errorf("csv with tz: %d, want UTC times: %.300s", resp.StatusCode, body)
	}
	resp, body, _ = get(t, env, auth.RoleOfficer, "/v1/reports/disclosures?from=2026-10-01&to=2026-11-01&tz=Mars/Olympus")
	if err := DecodeError(resp.StatusCode, body); resp.StatusCode != 400 || !strings.Contains(err.Error(), "Mars/Olympus") {
		t.Errorf("unknown zone: %d %s", resp.StatusCode, body)
	}
	_, body, _ = get(t, env, auth.RoleOfficer, "/v1/reports")
	if !strings.Contains(string(body), `{"name":"subject_id","kind":"string","label":"Customer id"}`) {
		t.Errorf("the catalog lacks the columns' labels: %.300s", body)
	}
}
