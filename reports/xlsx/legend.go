package xlsx

import (
	"strings"

	"github.com/xuri/excelize/v2"

	"github.com/privaudit/privaudit/audit"
	"github.com/privaudit/privaudit/reports/render"
)

// LegendSheet explains how to read the workbook: the period, what a
// disclosure and a violation are, each verdict, and each detail column.
const LegendSheet = "Legend"

// Legend column widths, in characters.
const (
	legendA = 26
	legendB = 90
	legendC = 56
)

// periodNote explains the period's bounds.
const periodNote = "The period runs from \"from\" up to, but not including, \"to\": [from, to). " +
	"A report to 1 Nov 2026 covers everything up to 31 Oct 2026 23:59:59.999 inclusive."

// writeLegend fills the Legend sheet. The verdict sentences and rules come
// from audit.VerdictMeaning, their one home.
func writeLegend(f *excelize.File, st *styles, m render.Meta, cols []render.Column) error {
	if _, err := f.NewSheet(LegendSheet); err != nil {
		return err
	}
	c := &cursor{f: f, sheet: LegendSheet}
	r, err := c.put("Legend: how to read this report")
	if err != nil {
		return err
	}
	if err := c.style(r, 1, 1, st.title); err != nil {
		return err
	}
	words := [][]string{
		{"Period (to is exclusive)", periodNote},
		{"Times", "Times are shown in " + zoneNote(m.Zone()) + "."},
	}
	if m.ForCustomer {
		if err := legendTable(c, st, "Terms", nil, words); err != nil {
			return err
		}
		if err := legendTable(c, st, "Columns of the Detail sheet", []string{"Column", "Meaning"}, columnRows(cols, m)); err != nil {
			return err
		}
	} else if err := officerLegend(c, st, m, cols, words); err != nil {
		return err
	}
	for col, w := range map[string]float64{"A": legendA, "B": legendB, "C": legendC} {
		if err := f.SetColWidth(LegendSheet, col, col, w); err != nil {
			return err
		}
	}
	return nil
}

// officerLegend writes the officer's terms, the verdicts and the columns
// with their identifiers.
func officerLegend(c *cursor, st *styles, m render.Meta, cols []render.Column, words [][]string) error {
	words = append(words, []string{"Disclosure", audit.DisclosureMeaning}, []string{"Violation", violationNote()})
	if err := legendTable(c, st, "Terms", nil, words); err != nil {
		return err
	}
	if err := legendTable(c, st, "Verdicts (SPEC §3)", []string{"Verdict", "Meaning", "Rule"}, verdictRows()); err != nil {
		return err
	}
	return legendTable(c, st, "Columns of the Detail sheet", []string{"Column", "Meaning", "Identifier (csv, json)"}, columnRows(cols, m))
}

// violationNote says which verdicts are violations.
func violationNote() string {
	var ok []string
	for _, v := range audit.Verdicts() {
		if !v.IsViolation() {
			ok = append(ok, string(v))
		}
	}
	return "A violation is an access whose verdict is none of " + strings.Join(ok, ", ") +
		": no consent covered it although it relied on consent (SPEC §3)."
}

// verdictRows lists every verdict, in SPEC order, with its meaning and rule.
func verdictRows() [][]string {
	var rows [][]string
	for _, v := range audit.VerdictNames() {
		meaning, rule, _ := audit.VerdictMeaning(v)
		rows = append(rows, []string{v, meaning, rule})
	}
	return rows
}

// columnRows lists each detail column: its header, meaning and identifier.
func columnRows(cols []render.Column, m render.Meta) [][]string {
	rows := make([][]string, len(cols))
	for i, col := range cols {
		rows[i] = []string{HeaderText(col, m.Zone()), col.Description, col.Name}
		if m.ForCustomer {
			rows[i] = rows[i][:2]
		}
	}
	return rows
}

// legendTable writes a bold heading, an optional header row, then the
// rows, wrapped, each row as tall as its longest text needs.
func legendTable(c *cursor, st *styles, heading string, head []string, rows [][]string) error {
	c.row++
	r, err := c.put(heading)
	if err != nil {
		return err
	}
	if err := c.style(r, 1, 1, st.bold); err != nil {
		return err
	}
	if head != nil {
		vals := make([]any, len(head))
		for i, h := range head {
			vals[i] = h
		}
		if r, err = c.put(vals...); err != nil {
			return err
		}
		if err := c.style(r, 1, len(head), st.header); err != nil {
			return err
		}
	}
	widths := []int{legendA, legendB, legendC}
	for _, cells := range rows {
		vals := make([]any, len(cells))
		lines := 1
		for i, s := range cells {
			vals[i] = s
			lines = max(lines, wrappedLines(s, widths[min(i, 2)]))
		}
		if r, err = c.put(vals...); err != nil {
			return err
		}
		if err := c.style(r, 1, len(cells), st.wrap); err != nil {
			return err
		}
		if lines > 1 {
			if err := c.f.SetRowHeight(c.sheet, r, float64(min(lines*lineHeight, excelize.MaxRowHeight))); err != nil {
				return err
			}
		}
	}
	return nil
}
