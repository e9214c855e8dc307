package console

import (
	"fmt"
	"html/template"
	"math"
	"strconv"
	"strings"
)

// The charts are hand-written SVG drawn on the server: presentation
// attributes (fill=, not style=), so the console's CSP needs no
// 'unsafe-inline', and role="img" with a title and description naming the
// table beside each chart, which holds the same numbers as links.

// chartColors are the fills of a chart's series, in order: dark enough for
// 3:1 against white (WCAG 1.4.11).
var chartColors = []string{"#0b4f9c", "#b35c00", "#1d6b34", "#a4161a", "#5b3a8c", "#00697a", "#6b5d00", "#8a2c5f"}

// bar is one bar of a chart: a label and one value per series.
type bar struct {
	Label  string
	Values []float64
}

// barChart draws bars horizontally, one row each, their series stacked:
// for counts per recipient or per verdict.
func barChart(id, title, desc string, series []string, bars []bar) template.HTML {
	const width, labelW, rowH, valueW = 520, 170, 24, 64
	top := 4
	if len(series) > 1 {
		top = 28
	}
	height := top + rowH*len(bars) + 4
	max := maxTotal(bars)
	var b strings.Builder
	svgOpen(&b, id, title, desc, width, height)
	legend(&b, series, 0)
	for i, br := range bars {
		y := top + i*rowH
		fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="end" font-size="13" fill="#1b1f24">%s</text>`,
			labelW-8, y+16, esc(clip(br.Label, 24)))
		x := float64(labelW)
		for s, v := range br.Values {
			w := scale(v, max, width-labelW-valueW)
			fmt.Fprintf(&b, `<rect x="%.1f" y="%d" width="%.1f" height="%d" fill="%s"/>`, x, y+3, w, rowH-6, chartColors[s%len(chartColors)])
			x += w
		}
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" font-size="13" fill="#1b1f24">%s</text>`, x+6, y+16, number(sum(br.Values)))
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String()) //nolint:gosec // every text is escaped by esc
}

// columnChart draws bars vertically, one column each in order, their
// series stacked: for counts per day.
func columnChart(id, title, desc string, series []string, bars []bar) template.HTML {
	const width, height, left, bottom, top = 520, 260, 44, 40, 30
	plotW, plotH := width-left-8, height-top-bottom
	max := maxTotal(bars)
	var b strings.Builder
	svgOpen(&b, id, title, desc, width, height)
	legend(&b, series, 0)
	fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#5b6673"/>`, left, top+plotH, left+plotW, top+plotH)
	fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="end" font-size="12" fill="#1b1f24">%s</text>`, left-4, top+10, number(max))
	fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="end" font-size="12" fill="#1b1f24">0</text>`, left-4, top+plotH)
	if n := len(bars); n > 0 {
		step := float64(plotW) / float64(n)
		every := int(math.Ceil(float64(n) / 6)) // at most about six axis labels
		for i, br := range bars {
			x := float64(left) + float64(i)*step
			y := float64(top + plotH)
			for s, v := range br.Values {
				h := scale(v, max, plotH)
				y -= h
				fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"/>`, x+step*0.1, y, step*0.8, h, chartColors[s%len(chartColors)])
			}
			if i%every == 0 {
				fmt.Fprintf(&b, `<text x="%.1f" y="%d" font-size="12" fill="#1b1f24">%s</text>`, x, top+plotH+16, esc(clip(br.Label, 18)))
			}
		}
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String()) //nolint:gosec // every text is escaped by esc
}

func svgOpen(b *strings.Builder, id, title, desc string, width, height int) {
	fmt.Fprintf(b, `<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" viewBox="0 0 %d %d" width="%d" height="%d" aria-labelledby="%s-t %s-d">`,
		width, height, width, height, id, id)
	fmt.Fprintf(b, `<title id="%s-t">%s</title><desc id="%s-d">%s</desc>`, id, esc(title), id, esc(desc))
}

// legend names the series (when there are several) along the top.
func legend(b *strings.Builder, series []string, y int) {
	if len(series) < 2 {
		return
	}
	x := 4
	for s, name := range series {
		fmt.Fprintf(b, `<rect x="%d" y="%d" width="12" height="12" fill="%s"/><text x="%d" y="%d" font-size="12" fill="#1b1f24">%s</text>`,
			x, y+4, chartColors[s%len(chartColors)], x+16, y+14, esc(name))
		x += 24 + 7*len(name)
	}
}

func maxTotal(bars []bar) float64 {
	var m float64
	for _, br := range bars {
		m = math.Max(m, sum(br.Values))
	}
	return m
}

func sum(vs []float64) float64 {
	var t float64
	for _, v := range vs {
		t += v
	}
	return t
}

// scale maps v of max onto span pixels.
func scale(v, max float64, span int) float64 {
	if max <= 0 || v <= 0 {
		return 0
	}
	return v / max * float64(span)
}

func esc(s string) string { return template.HTMLEscapeString(s) }

// clip shortens s to n characters, marking the cut.
func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// number shows a figure as the tables print it: a count in plain digits,
// anything else with two decimals.
func number(v float64) string {
	if v == math.Trunc(v) && math.Abs(v) < 1e15 {
		return strconv.FormatInt(int64(v), 10)
	}
	return strconv.FormatFloat(v, 'f', 2, 64)
}
