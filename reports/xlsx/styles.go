package xlsx

import (
	"fmt"
	"time"

	"github.com/xuri/excelize/v2"
)

// timeFormats are the date-time number formats of timestamp cells, indexed
// by the number of fraction digits render.TimeLayout prints for the value
// (0–3), so that the displayed text equals render.Text.
// In another zone than UTC the cells show wall-clock time without a zone
// suffix (the header names the zone).
var timeFormats = [4]string{
	`yyyy-mm-dd"T"hh:mm:ss"Z"`,
	`yyyy-mm-dd"T"hh:mm:ss.0"Z"`,
	`yyyy-mm-dd"T"hh:mm:ss.00"Z"`,
	`yyyy-mm-dd"T"hh:mm:ss.000"Z"`,
}

var zonedTimeFormats = [4]string{
	`yyyy-mm-dd hh:mm:ss`,
	`yyyy-mm-dd hh:mm:ss.0`,
	`yyyy-mm-dd hh:mm:ss.00`,
	`yyyy-mm-dd hh:mm:ss.000`,
}

// styles holds the workbook's cell style IDs.
type styles struct {
	header  int    // bold, filled, bottom border: detail headers
	wrapped int    // header, wrapped and top-aligned: pivot headers
	note    int    // bold dark green: plain statements such as "No violations"
	title   int    // large bold: the Summary title
	bold    int    // section labels
	wrap    int    // wrapped, top-aligned text: SQL statements
	integer int    // "0": detail integers, displayed in full
	count   int    // "#,##0": integral totals
	decimal int    // "#,##0.00": fractional totals
	times   [4]int // timeFormats, or zonedTimeFormats outside UTC
}

// newStyles registers the styles in f, dates shown as times in loc.
func newStyles(f *excelize.File, loc *time.Location) (*styles, error) {
	st := &styles{}
	border := []excelize.Border{{Type: "bottom", Color: "808080", Style: 1}}
	fill := excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{"DDE5F0"}}
	formats := &timeFormats
	if loc != time.UTC {
		formats = &zonedTimeFormats
	}
	specs := []struct {
		id *int
		s  excelize.Style
	}{
		{&st.header, excelize.Style{Font: &excelize.Font{Bold: true}, Border: border, Fill: fill}},
		{&st.wrapped, excelize.Style{Font: &excelize.Font{Bold: true}, Border: border, Fill: fill,
			Alignment: &excelize.Alignment{WrapText: true, Vertical: "top"}}},
		{&st.note, excelize.Style{Font: &excelize.Font{Bold: true, Color: "1E6B2E"}}},
		{&st.title, excelize.Style{Font: &excelize.Font{Bold: true, Size: 14}}},
		{&st.bold, excelize.Style{Font: &excelize.Font{Bold: true}}},
		{&st.wrap, excelize.Style{Alignment: &excelize.Alignment{WrapText: true, Vertical: "top"}}},
		{&st.integer, excelize.Style{NumFmt: 1}},
		{&st.count, excelize.Style{NumFmt: 3}},
		{&st.decimal, excelize.Style{NumFmt: 4}},
	}
	for i := range formats {
		specs = append(specs, struct {
			id *int
			s  excelize.Style
		}{&st.times[i], excelize.Style{CustomNumFmt: &formats[i]}})
	}
	for _, sp := range specs {
		id, err := f.NewStyle(&sp.s)
		if err != nil {
			return nil, fmt.Errorf("create cell style: %w", err)
		}
		*sp.id = id
	}
	return st, nil
}
