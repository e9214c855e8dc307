package console

import (
	"html/template"
	"slices"
	"strings"
	"time"

	"github.com/privaudit/privaudit/reports"
	"github.com/privaudit/privaudit/reports/render"
)

// figureSection is one report's part of the overview: its totals and
// charts, every number linking to the rows behind it.
type figureSection struct {
	ID, Title, Report, Link string
	Totals                  []figure
	Charts                  []chartView
}

// figure is one number and the address of the rows behind it ("" for
// none, e.g. a row summing many recipients); Col names its table column.
type figure struct{ Label, Col, Value, Link string }

// chartView is a chart and its numbers in a table beside it.
type chartView struct {
	ID, Title, Caption string
	SVG                template.HTML
	Header             []string // the label column's, then one per series
	Rows               []chartRow
	Empty              string
}

type chartRow struct {
	Label string
	Cells []figure
}

// verdictOfTotal maps the disclosure totals that count one verdict to it.
var verdictOfTotal = map[string]string{"Covered by a consent": "covered", "Other legal basis": "other_basis"}

// sections lays out the overview's figures for [from, to).
func sections(sums map[string]render.Summary, from, to time.Time) []figureSection {
	link := func(report string, filters map[string]string) string { return reportLink(report, from, to, filters) }
	d, v, c := sums[reportDisclosures], sums[reportViolations], sums[reportConsents]
	dp, vp := pivotOf(d, pivotDisclosures), pivotOf(v, pivotViolations)
	return []figureSection{
		{ID: "disclosures", Title: "Disclosures", Report: reportDisclosures, Link: link(reportDisclosures, nil),
			Totals: totals(d, func(label string) string {
				if vd, ok := verdictOfTotal[label]; ok {
					return link(reportDisclosures, map[string]string{"verdict": vd})
				}
				return link(reportDisclosures, nil)
			}),
			Charts: []chartView{
				byRow("disclosures-recipient", "Disclosures per recipient", "Recipient", "Disclosures", dp, reportDisclosures, from, to),
				byColumn("disclosures-verdict", "Disclosures per verdict", "Verdict", "Disclosures", dp, reportDisclosures, from, to),
			}},
		{ID: "violations", Title: "Violations", Report: reportViolations, Link: link(reportViolations, nil),
			Totals: totals(v, func(string) string { return link(reportViolations, nil) }),
			Charts: []chartView{
				byColumn("violations-reason", "Violations by reason", "Reason (verdict)", "Violations", vp, reportViolations, from, to),
				byRow("violations-recipient", "Violations by recipient", "Recipient", "Violations", vp, reportViolations, from, to),
			}},
		{ID: "consents", Title: "Consents", Report: reportConsents, Link: link(reportConsents, nil),
			Totals: totals(c, func(string) string { return link(reportConsents, nil) }),
			Charts: []chartView{overTime("consents-changes", pivotOf(c, reports.ConsentChangesTitle), from, to)}},
	}
}

// pivotOf returns the pivot of s titled title (empty when absent).
func pivotOf(s render.Summary, title string) render.Pivot {
	for _, p := range s.Pivots {
		if p.Title == title {
			return p
		}
	}
	return render.Pivot{Title: title}
}

func totals(s render.Summary, link func(label string) string) []figure {
	var out []figure
	for _, t := range s.Totals {
		out = append(out, figure{Label: t.Label, Value: number(t.Value), Link: link(t.Label)})
	}
	return out
}

// isOthers reports whether a pivot row sums the rows past its limit.
func isOthers(label string) bool {
	return strings.HasPrefix(label, "(") && strings.HasSuffix(label, " others)")
}

// byRow charts a recipient × verdict pivot's row totals: one bar per
// recipient, linking to that recipient's rows.
func byRow(id, title, header, what string, p render.Pivot, report string, from, to time.Time) chartView {
	cv := chartView{ID: id, Title: title, Header: []string{header, what}, Empty: p.Empty,
		Caption: what + " per " + strings.ToLower(header) + ", most first; each number links to its rows."}
	var bars []bar
	for _, r := range p.Rows {
		n := sum(r.Values)
		f := figure{Label: r.Label, Col: what, Value: number(n)}
		if !isOthers(r.Label) {
			f.Link = reportLink(report, from, to, map[string]string{"recipient": r.Label})
		}
		cv.Rows = append(cv.Rows, chartRow{Label: r.Label, Cells: []figure{f}})
		bars = append(bars, bar{Label: r.Label, Values: []float64{n}})
	}
	if len(bars) > 0 {
		cv.SVG = barChart(id, title, "Bar chart; the table "+title+" beside it holds the same numbers.", nil, bars)
	}
	return cv
}

// byColumn charts a recipient × verdict pivot's column totals: one bar
// per verdict that occurs, linking to that verdict's rows.
func byColumn(id, title, header, what string, p render.Pivot, report string, from, to time.Time) chartView {
	cv := chartView{ID: id, Title: title, Header: []string{header, what}, Empty: p.Empty,
		Caption: what + " per " + strings.ToLower(header) + "; each number links to its rows."}
	var bars []bar
	for j, col := range p.ColHeaders {
		var n float64
		for _, r := range p.Rows {
			n += r.Values[j]
		}
		if n == 0 {
			continue
		}
		f := figure{Label: col, Col: what, Value: number(n), Link: reportLink(report, from, to, map[string]string{"verdict": col})}
		cv.Rows = append(cv.Rows, chartRow{Label: col, Cells: []figure{f}})
		bars = append(bars, bar{Label: col, Values: []float64{n}})
	}
	if len(bars) > 0 {
		cv.SVG = barChart(id, title, "Bar chart; the table "+title+" beside it holds the same numbers.", nil, bars)
	}
	return cv
}

// overTime charts the consents report's changes per day (week, month):
// one stacked column per row, each number linking to that day's consents.
func overTime(id string, p render.Pivot, from, to time.Time) chartView {
	cv := chartView{ID: id, Title: "Consents granted, narrowed and withdrawn over time", Empty: p.Empty,
		Header:  append([]string{p.RowHeader}, p.ColHeaders...),
		Caption: p.Title + "; each number links to the consent events of its day."}
	if cv.Header[0] == "" {
		cv.Header[0] = "Day"
	}
	var bars []bar
	for _, r := range p.Rows {
		bf, bt := bucket(r.Label, from, to)
		row := chartRow{Label: r.Label}
		for j, v := range r.Values {
			f := figure{Label: r.Label, Col: p.ColHeaders[j], Value: number(v)}
			if v > 0 && bt.After(bf) {
				f.Link = reportLink(reportConsents, bf, bt, nil)
			}
			row.Cells = append(row.Cells, f)
		}
		cv.Rows = append(cv.Rows, row)
		bars = append(bars, bar{Label: strings.TrimPrefix(r.Label, "week of "), Values: slices.Clone(r.Values)})
	}
	if len(bars) > 0 {
		cv.SVG = columnChart(id, cv.Title, "Stacked columns per day; the table beside it holds the same numbers.", p.ColHeaders, bars)
	}
	return cv
}

// bucket is the time range of a row of the consent changes (a day
// 2026-10-05, a "week of 2026-10-05", a month 2026-10), within [from, to).
func bucket(label string, from, to time.Time) (time.Time, time.Time) {
	var start, end time.Time
	if d, err := time.Parse(time.DateOnly, strings.TrimPrefix(label, "week of ")); err == nil {
		start, end = d, d.AddDate(0, 0, 1)
		if strings.HasPrefix(label, "week of ") {
			end = d.AddDate(0, 0, 7)
		}
	} else if m, err := time.Parse("2006-01", label); err == nil {
		start, end = m, m.AddDate(0, 1, 0)
	}
	if start.Before(from) {
		start = from
	}
	if end.After(to) {
		end = to
	}
	return start, end
}
