package sqlconsole

import (
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/privaudit/privaudit/queries"
)

const (
	// tableSample is how many rows the table format reads before it fixes
	// the column widths; later rows reuse them.
	tableSample = 1000
	// maxCellWidth cuts longer cells (with "…") in the table format.
	maxCellWidth = 60
)

var cellEscaper = strings.NewReplacer("\n", `\n`, "\r", `\r`, "\t", `\t`)

// tableWriter: aligned columns for a terminal — a header, a rule, the rows
// (numbers right-aligned), and a footer with the row count.
type tableWriter struct {
	w       io.Writer
	cols    []queries.ColumnInfo
	numeric []bool
	widths  []int
	sample  [][]string
	fixed   bool
	line    strings.Builder
}

func (t *tableWriter) begin(cols []queries.ColumnInfo) error {
	t.cols = cols
	t.numeric = make([]bool, len(cols))
	t.widths = make([]int, len(cols))
	for i, c := range cols {
		t.numeric[i] = isNumericType(c.DatabaseType)
		t.widths[i] = min(utf8.RuneCountInString(c.Name), maxCellWidth)
	}
	return nil
}

func (t *tableWriter) row(vals []any) error {
	cells := make([]string, len(vals))
	for i, v := range vals {
		cells[i] = fitCell(CellText(v))
	}
	if t.fixed {
		return t.writeRow(cells)
	}
	for i, c := range cells {
		t.widths[i] = max(t.widths[i], utf8.RuneCountInString(c))
	}
	t.sample = append(t.sample, cells)
	if len(t.sample) >= tableSample {
		return t.fix()
	}
	return nil
}

// fix writes the header and the sampled rows; the widths are final.
func (t *tableWriter) fix() error {
	t.fixed = true
	head := make([]string, len(t.cols))
	rule := make([]string, len(t.cols))
	for i, c := range t.cols {
		head[i] = fitCell(c.Name)
		rule[i] = strings.Repeat("-", t.widths[i])
	}
	if err := t.writeRow(head); err != nil {
		return err
	}
	if err := t.writeRow(rule); err != nil {
		return err
	}
	for _, r := range t.sample {
		if err := t.writeRow(r); err != nil {
			return err
		}
	}
	t.sample = nil
	return nil
}

func (t *tableWriter) writeRow(cells []string) error {
	t.line.Reset()
	for i, c := range cells {
		if i > 0 {
			t.line.WriteString("  ")
		}
		pad := strings.Repeat(" ", max(t.widths[i]-utf8.RuneCountInString(c), 0))
		if t.numeric[i] {
			t.line.WriteString(pad + c)
		} else {
			t.line.WriteString(c + pad)
		}
	}
	_, err := io.WriteString(t.w, strings.TrimRight(t.line.String(), " ")+"\n")
	return err
}

func (t *tableWriter) end(e streamEnd) error {
	if !t.fixed {
		if err := t.fix(); err != nil {
			return err
		}
	}
	noun := "rows"
	if e.Rows == 1 {
		noun = "row"
	}
	footer := fmt.Sprintf("(%d %s)\n", e.Rows, noun)
	if e.Truncated {
		footer = fmt.Sprintf("(%d %s; truncated at the %d-row cap: add filters, aggregation or LIMIT)\n", e.Rows, noun, e.MaxRows)
	}
	if e.Err != nil {
		footer += "error: " + e.Err.Error() + "\n"
	}
	_, err := io.WriteString(t.w, footer)
	return err
}

// fitCell escapes line breaks and cuts a cell to maxCellWidth runes.
func fitCell(s string) string {
	s = cellEscaper.Replace(s)
	if utf8.RuneCountInString(s) <= maxCellWidth {
		return s
	}
	r := []rune(s)
	return string(r[:maxCellWidth-1]) + "…"
}

// isNumericType reports whether a ClickHouse type is a number (right-aligned
// in the table).
func isNumericType(t string) bool {
	t = unwrapType(t)
	return strings.HasPrefix(t, "Int") || strings.HasPrefix(t, "UInt") ||
		strings.HasPrefix(t, "Float") || strings.HasPrefix(t, "Decimal")
}

// unwrapType strips Nullable(…) and LowCardinality(…).
func unwrapType(t string) string {
	for {
		inner, ok := strings.CutPrefix(t, "Nullable(")
		if !ok {
			inner, ok = strings.CutPrefix(t, "LowCardinality(")
		}
		if !ok {
			return t
		}
		t = strings.TrimSuffix(inner, ")")
	}
}
