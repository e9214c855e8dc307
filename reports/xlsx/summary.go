package xlsx

import (
	"fmt"
	"math"
	"time"
	"unicode/utf8"

	"github.com/xuri/excelize/v2"

	"github.com/privaudit/privaudit/reports/render"
)

// Chart geometry on the Summary sheet, in pixels.
const (
	chartWidth     = 640
	chartMinHeight = 260
	chartMaxHeight = 1000
	chartBarHeight = 24
	rowPixels      = 20 // default row height
)

// cursor appends rows to a sheet written with the normal cell API.
type cursor struct {
	f     *excelize.File
	sheet string
	row   int // last row written
}

// put writes vals on the next row and returns its number.
func (c *cursor) put(vals ...any) (int, error) {
	c.row++
	cell, _ := excelize.CoordinatesToCellName(1, c.row)
	if err := c.f.SetSheetRow(c.sheet, cell, &vals); err != nil {
		return 0, fmt.Errorf("row %d: %w", c.row, err)
	}
	return c.row, nil
}

// style applies style to columns [from, to] (1-based) of row.
func (c *cursor) style(row, from, to, style int) error {
	a, _ := excelize.CoordinatesToCellName(from, row)
	b, _ := excelize.CoordinatesToCellName(to, row)
	return c.f.SetCellStyle(c.sheet, a, b, style)
}

// writeSummary fills the Summary sheet: title, parameters, totals and the
// pivots, each with a stacked bar chart when asked for.
func writeSummary(f *excelize.File, st *styles, m render.Meta, sum render.Summary, det detailResult) error {
	c := &cursor{f: f, sheet: SummarySheet}
	title := m.Title
	if title == "" {
		title = m.Report
	}
	r, err := c.put(title)
	if err != nil {
		return err
	}
	if err := c.style(r, 1, 1, st.title); err != nil {
		return err
	}
	for _, n := range sum.Notes {
		if r, err = c.put(n); err != nil {
			return err
		}
		if err := c.style(r, 1, 1, st.note); err != nil {
			return err
		}
	}
	if err := writePairs(c, st, "Report", periodPairs(m)); err != nil {
		return err
	}
	if err := writePairs(c, st, "Parameters", paramPairs(m)); err != nil {
		return err
	}
	if err := writePairs(c, st, "Filters", filterPairs(m)); err != nil {
		return err
	}
	totals := append([]render.Total{{Label: "Detail rows", Value: float64(det.total)}}, sum.Totals...)
	if err := writeTotals(c, st, totals); err != nil {
		return err
	}
	for i, p := range sum.Pivots {
		if err := writePivot(c, st, p); err != nil {
			return fmt.Errorf("pivot %d (%s): %w", i+1, p.Title, err)
		}
	}
	return summaryWidths(f, m, sum, totals)
}

// periodPairs states the period and the zone of the displayed times.
func periodPairs(m render.Meta) [][2]string {
	var pairs [][2]string
	if m.Period != "" {
		pairs = append(pairs, [2]string{"Period", m.Period})
	}
	return append(pairs, [2]string{"Times shown in", zoneNote(m.Zone())})
}

// zoneNote says in which zone the workbook shows times.
func zoneNote(loc *time.Location) string {
	return loc.String() + " (csv and json downloads always use UTC)"
}

// paramPairs lists the report name and its parameters.
func paramPairs(m render.Meta) [][2]string {
	pairs := [][2]string{{"report", m.Report}}
	for _, p := range m.Params {
		pairs = append(pairs, [2]string{p.Name, p.Value})
	}
	return pairs
}

// filterPairs states the filters the rows were narrowed by, or that there
// were none.
func filterPairs(m render.Meta) [][2]string {
	if len(m.Filters) == 0 {
		return [][2]string{{"none", "every row of the period"}}
	}
	pairs := make([][2]string, len(m.Filters))
	for i, f := range m.Filters {
		pairs[i] = [2]string{f.Name, "only " + f.Value}
	}
	return pairs
}

// writePairs writes a bold heading, then one name/value row per pair.
func writePairs(c *cursor, st *styles, heading string, pairs [][2]string) error {
	c.row++
	r, err := c.put(heading)
	if err != nil {
		return err
	}
	if err := c.style(r, 1, 1, st.bold); err != nil {
		return err
	}
	for _, p := range pairs {
		if _, err := c.put(p[0], p[1]); err != nil {
			return err
		}
	}
	return nil
}

// writeTotals writes the labelled figures, integral ones with thousands
// separators and no decimals.
func writeTotals(c *cursor, st *styles, totals []render.Total) error {
	c.row++
	r, err := c.put("Totals")
	if err != nil {
		return err
	}
	if err := c.style(r, 1, 1, st.bold); err != nil {
		return err
	}
	for _, t := range totals {
		if r, err = c.put(t.Label, t.Value); err != nil {
			return err
		}
		if err := c.style(r, 2, 2, numberStyle(st, t.Value)); err != nil {
			return err
		}
	}
	return nil
}

// numberStyle is "#,##0" for integral values, "#,##0.00" otherwise.
func numberStyle(st *styles, v float64) int {
	if v == math.Trunc(v) {
		return st.count
	}
	return st.decimal
}

// writePivot writes p as a table with row and column totals, and its chart.
func writePivot(c *cursor, st *styles, p render.Pivot) error {
	c.row++
	top, err := c.put(p.Title)
	if err != nil {
		return err
	}
	if err := c.style(top, 1, 1, st.bold); err != nil {
		return err
	}
	n := len(p.ColHeaders)
	if len(p.Rows) == 0 {
		empty := p.Empty
		if empty == "" {
			empty = "Nothing in this period."
		}
		r, err := c.put(empty)
		if err != nil {
			return err
		}
		return c.style(r, 1, 1, st.note)
	}
	head := []any{p.RowHeader}
	for _, h := range p.ColHeaders {
		head = append(head, h)
	}
	hr, err := c.put(append(head, "Total")...)
	if err != nil {
		return err
	}
	if err := c.style(hr, 1, n+2, st.wrapped); err != nil {
		return err
	}
	colSums := make([]float64, n+1)
	for _, pr := range p.Rows {
		vals, rowSum := []any{pr.Label}, 0.0
		for j := 0; j < n; j++ {
			v := 0.0
			if j < len(pr.Values) {
				v = pr.Values[j]
			}
			vals, rowSum, colSums[j] = append(vals, v), rowSum+v, colSums[j]+v
		}
		colSums[n] += rowSum
		if _, err := c.put(append(vals, rowSum)...); err != nil {
			return err
		}
	}
	if err := pivotTotals(c, st, colSums); err != nil {
		return err
	}
	if !p.Chart || len(p.Rows) == 0 || n == 0 {
		return nil
	}
	return addChart(c, p, top, hr)
}

// pivotTotals writes the bold column-totals row of a pivot.
func pivotTotals(c *cursor, st *styles, sums []float64) error {
	vals := []any{"Total"}
	for _, s := range sums {
		vals = append(vals, s)
	}
	r, err := c.put(vals...)
	if err != nil {
		return err
	}
	return c.style(r, 1, len(vals), st.bold)
}

// addChart draws p as a stacked bar chart right of its table, whose header
// row is hr, and moves the cursor below the chart if it is the taller.
func addChart(c *cursor, p render.Pivot, top, hr int) error {
	n, first, last := len(p.ColHeaders), hr+1, hr+len(p.Rows)
	labelCol, _ := excelize.ColumnNumberToName(1)
	series := make([]excelize.ChartSeries, n)
	for j := range series {
		col, _ := excelize.ColumnNumberToName(j + 2)
		series[j] = excelize.ChartSeries{
			Name:       fmt.Sprintf("'%s'!$%s$%d", c.sheet, col, hr),
			Categories: fmt.Sprintf("'%s'!$%s$%d:$%s$%d", c.sheet, labelCol, first, labelCol, last),
			Values:     fmt.Sprintf("'%s'!$%s$%d:$%s$%d", c.sheet, col, first, col, last),
		}
	}
	height := min(max(80+chartBarHeight*len(p.Rows), chartMinHeight), chartMaxHeight)
	anchor, _ := excelize.CoordinatesToCellName(n+4, top)
	vary := false
	chart := &excelize.Chart{
		Type:       excelize.BarStacked,
		VaryColors: &vary,
		Series:     series,
		Title:      excelize.ChartTitle{Paragraph: []excelize.RichTextRun{{Text: p.Title}}},
		Legend:     excelize.ChartLegend{Position: "bottom"},
		XAxis:      excelize.ChartAxis{ReverseOrder: true},
		Dimension:  excelize.ChartDimension{Width: chartWidth, Height: uint(height)},
	}
	if err := c.f.AddChart(c.sheet, anchor, chart); err != nil {
		return fmt.Errorf("chart: %w", err)
	}
	c.row = max(c.row, top+height/rowPixels+1)
	return nil
}

// Summary column widths, in characters: column A fits its labels within
// [summaryMinA, summaryMaxA]; the figure columns fit their pivot headers
// (verdict names are never clipped), at least summaryMinFigure.
const (
	summaryMinA      = 24
	summaryMaxA      = 60
	summaryMinFigure = 12
)

// summaryWidths sizes the Summary columns so that no label or pivot
// header is clipped.
func summaryWidths(f *excelize.File, m render.Meta, sum render.Summary, totals []render.Total) error {
	a := summaryMinA
	fit := func(s string) { a = max(a, utf8.RuneCountInString(s)+2) }
	for _, p := range append(paramPairs(m), periodPairs(m)...) {
		fit(p[0])
	}
	for _, t := range totals {
		fit(t.Label)
	}
	widths := []int{summaryMinFigure} // column B, the totals' figures
	for _, p := range sum.Pivots {
		if len(p.Rows) == 0 {
			continue
		}
		fit(p.RowHeader)
		for _, r := range p.Rows {
			fit(r.Label)
		}
		for j, h := range append(append([]string(nil), p.ColHeaders...), "Total") {
			if j >= len(widths) {
				widths = append(widths, summaryMinFigure)
			}
			widths[j] = max(widths[j], utf8.RuneCountInString(h)+2)
		}
	}
	if err := f.SetColWidth(SummarySheet, "A", "A", float64(min(a, summaryMaxA))); err != nil {
		return err
	}
	for j, w := range widths {
		col, _ := excelize.ColumnNumberToName(j + 2)
		if err := f.SetColWidth(SummarySheet, col, col, float64(min(w, excelize.MaxColumnWidth))); err != nil {
			return err
		}
	}
	return nil
}
