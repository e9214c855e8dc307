package xlsx

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/xuri/excelize/v2"

	"github.com/privaudit/privaudit/reports/render"
)

// progressEvery is how often, in rows, Input.Progress is called.
const progressEvery = 100_000

// rowOverhead and cellOverhead estimate the XML a row and a cell cost
// beyond their text (tags, reference, style and type attributes).
const (
	rowOverhead  = 24
	cellOverhead = 48
)

// sheetRows is one detail sheet and the data rows (header excluded) on it.
type sheetRows struct {
	Name string
	Rows int64
}

// detailResult is what streaming the detail rows produced.
type detailResult struct {
	sheets []sheetRows
	total  int64
	sha256 string
}

// detailWriter streams rows to the detail sheets, opening the next sheet
// when the current one is full.
type detailWriter struct {
	f       *excelize.File
	st      *styles
	cols    []render.Column
	loc     *time.Location // zone of the displayed times
	opts    options
	sw      *excelize.StreamWriter
	row     int   // rows written on the current sheet, header included
	size    int64 // estimated XML bytes of the current sheet
	lastCol string
	cells   []excelize.Cell
	vals    []any
	res     detailResult
}

// writeDetail streams in.Rows to the detail sheets and hashes them.
func writeDetail(ctx context.Context, f *excelize.File, st *styles, in render.Input, opts options) (detailResult, error) {
	lastCol, err := excelize.ColumnNumberToName(len(in.Columns))
	if err != nil {
		return detailResult{}, err
	}
	d := &detailWriter{f: f, st: st, cols: in.Columns, loc: in.Meta.Zone(), opts: opts, lastCol: lastCol,
		cells: make([]excelize.Cell, len(in.Columns)), vals: make([]any, len(in.Columns))}
	h := render.NewDetailHasher(in.Columns)
	if err := d.startSheet(); err != nil {
		return detailResult{}, err
	}
	for in.Rows.Next() {
		if d.res.total%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return detailResult{}, err
			}
		}
		vals := in.Rows.Values()
		if len(vals) != len(in.Columns) {
			return detailResult{}, fmt.Errorf("row %d has %d values for %d columns",
				d.res.total+1, len(vals), len(in.Columns))
		}
		h.Add(in.Columns, vals)
		if err := d.add(vals); err != nil {
			return detailResult{}, fmt.Errorf("write row %d: %w", d.res.total+1, err)
		}
		if in.Progress != nil && d.res.total%progressEvery == 0 {
			in.Progress(d.res.total)
		}
	}
	if err := in.Rows.Err(); err != nil {
		return detailResult{}, fmt.Errorf("read rows: %w", err)
	}
	if in.Progress != nil && d.res.total%progressEvery != 0 {
		in.Progress(d.res.total)
	}
	if err := d.finishSheet(); err != nil {
		return detailResult{}, err
	}
	d.res.sha256 = h.Sum()
	return d.res, nil
}

// detailSheetName names the n-th detail sheet (1-based).
func detailSheetName(n int) string {
	if n == 1 {
		return DetailSheet
	}
	return DetailSheet + " (" + strconv.Itoa(n) + ")"
}

// startSheet opens the next detail sheet: widths, frozen bold header.
func (d *detailWriter) startSheet() error {
	name := detailSheetName(len(d.res.sheets) + 1)
	if _, err := d.f.NewSheet(name); err != nil {
		return fmt.Errorf("create sheet %s: %w", name, err)
	}
	sw, err := d.f.NewStreamWriter(name)
	if err != nil {
		return fmt.Errorf("stream sheet %s: %w", name, err)
	}
	for i, c := range d.cols {
		if err := sw.SetColWidth(i+1, i+1, columnWidth(c, d.loc)); err != nil {
			return fmt.Errorf("sheet %s: width of %s: %w", name, c.Name, err)
		}
	}
	panes := &excelize.Panes{Freeze: true, YSplit: 1, TopLeftCell: "A2", ActivePane: "bottomLeft",
		Selection: []excelize.Selection{{SQRef: "A2", ActiveCell: "A2", Pane: "bottomLeft"}}}
	if err := sw.SetPanes(panes); err != nil {
		return fmt.Errorf("sheet %s: freeze header: %w", name, err)
	}
	header := make([]any, len(d.cols))
	for i, c := range d.cols {
		header[i] = excelize.Cell{StyleID: d.st.header, Value: HeaderText(c, d.loc)}
	}
	if err := sw.SetRow("A1", header); err != nil {
		return fmt.Errorf("sheet %s: header: %w", name, err)
	}
	d.sw, d.row, d.size = sw, 1, 0
	d.res.sheets = append(d.res.sheets, sheetRows{Name: name})
	return nil
}

// finishSheet puts the autofilter over the sheet's rows and ends its stream.
func (d *detailWriter) finishSheet() error {
	name := d.res.sheets[len(d.res.sheets)-1].Name
	// The worksheet's autoFilter element is written by Flush, after the
	// rows, so the range can cover them all.
	ref := "A1:" + d.lastCol + strconv.Itoa(d.row)
	if err := d.f.AutoFilter(name, ref, nil); err != nil {
		return fmt.Errorf("sheet %s: autofilter: %w", name, err)
	}
	if err := d.sw.Flush(); err != nil {
		return fmt.Errorf("sheet %s: flush: %w", name, err)
	}
	return nil
}

// add writes one row, continuing on a new sheet when the current is full.
func (d *detailWriter) add(vals []any) error {
	if d.row >= d.opts.maxRows || d.size >= d.opts.maxSheetBytes {
		if err := d.finishSheet(); err != nil {
			return err
		}
		if err := d.startSheet(); err != nil {
			return err
		}
	}
	est := int64(rowOverhead)
	for i, v := range vals {
		n := d.setCell(&d.cells[i], d.cols[i].Kind, v)
		if n < 0 {
			d.vals[i] = nil
			continue
		}
		d.vals[i] = &d.cells[i]
		est += int64(n)
	}
	d.row++
	if err := d.sw.SetRow("A"+strconv.Itoa(d.row), d.vals); err != nil {
		return err
	}
	d.size += est
	d.res.sheets[len(d.res.sheets)-1].Rows++
	d.res.total++
	return nil
}

// HeaderText is the detail header of c in a workbook showing times in
// loc: its plain-word header, and for a Time column the zone, e.g.
// "Occurred at (UTC)".
func HeaderText(c render.Column, loc *time.Location) string {
	if c.Kind == render.Time {
		return c.Header() + " (" + loc.String() + ")"
	}
	return c.Header()
}

// headerRoom is the width, in characters, that shows a header of n
// characters whole beside the autofilter button.
func headerRoom(n int) float64 { return float64(n) + 3 }

// columnWidth is c's width hint, or one by kind and name, and never
// narrower than its header (HeaderText in loc) with its filter button.
func columnWidth(c render.Column, loc *time.Location) float64 {
	name := headerRoom(utf8.RuneCountInString(HeaderText(c, loc)))
	if c.Width > 0 {
		return min(max(c.Width, name), excelize.MaxColumnWidth)
	}
	switch c.Kind {
	case render.Time:
		return max(name, 26)
	case render.Int, render.Float:
		return max(name, 12)
	case render.Bool:
		return max(name, 8)
	case render.List:
		return max(name, 32)
	}
	switch {
	case c.Name == "detail" || strings.HasSuffix(c.Name, "_detail") || c.Name == "reason":
		return max(name, 60)
	case strings.HasSuffix(c.Name, "_id"):
		return max(name, 28)
	}
	return max(name, 16)
}
