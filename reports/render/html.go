package render

import (
	"bufio"
	"context"
	"fmt"
	"html"
	"io"
	"strconv"
	"strings"
	"time"
)

// HTML returns the html renderer: one self-contained page that prints well
// — the title and parameters, the detail rows as a semantic table whose
// header repeats on every printed page, then the summary and the run's
// particulars (rows, SHA-256 of the detail data, the SQL if the report
// states it). It loads nothing (no scripts, fonts or images; its Content
// Security Policy forbids them), every text is escaped with
// html.EscapeString, and the markup is well-formed XML as well as HTML.
// Rows are streamed, never collected. Result.SHA256 is the digest of the
// canonical csv form (DetailHasher), the same as the other formats'.
func HTML() Renderer { return htmlRenderer{} }

type htmlRenderer struct{}

// Format is "html".
func (htmlRenderer) Format() string { return "html" }

// ContentType is the MIME type of an html page.
func (htmlRenderer) ContentType() string { return "text/html; charset=utf-8" }

// htmlTimeLayout is how the page shows a time: readable, in UTC.
const htmlTimeLayout = "2006-01-02 15:04:05.999 UTC"

// htmlStyle is the page's only style: screen and print.
const htmlStyle = `
@page { size: A4 landscape; margin: 12mm; }
body { font: 10pt/1.35 system-ui, "Segoe UI", Helvetica, Arial, sans-serif; color: #111; margin: 1.5em; }
h1 { font-size: 16pt; margin: 0 0 .4em; }
h2 { font-size: 12pt; margin: 1.4em 0 .4em; }
dl.meta { display: grid; grid-template-columns: max-content auto; gap: .1em 1em; margin: 0 0 1em; }
dl.meta dt { font-weight: 600; }
dl.meta dd { margin: 0; }
table { border-collapse: collapse; width: 100%; margin: 0 0 1em; }
caption { text-align: left; font-weight: 600; padding: .3em 0; }
th, td { border: 1px solid #bbb; padding: 2px 5px; text-align: left; vertical-align: top; }
thead th { background: #eee; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
p.empty { font-style: italic; }
pre { white-space: pre-wrap; font-size: 8pt; }
@media print {
  body { margin: 0; }
  thead { display: table-header-group; }
  tr { break-inside: avoid; page-break-inside: avoid; }
  section.sql { display: none; }
}
`

// Render streams in.Rows as an html page to w, the summary after the rows.
func (htmlRenderer) Render(ctx context.Context, w io.Writer, in Input) (Result, error) {
	cw := &countingWriter{w: w}
	bw := bufio.NewWriterSize(cw, 64<<10)
	hw := &htmlWriter{w: bw}
	hw.head(in.Meta)
	hw.tableStart(in.Columns)
	hasher := NewDetailHasher(in.Columns)
	var n int64
	for in.Rows.Next() {
		vals := in.Rows.Values()
		if len(vals) != len(in.Columns) {
			return Result{}, fmt.Errorf("html row %d has %d values for %d columns", n+1, len(vals), len(in.Columns))
		}
		hasher.Add(in.Columns, vals)
		hw.row(in.Columns, vals)
		if hw.err != nil {
			return Result{}, fmt.Errorf("write html row %d: %w", n+1, hw.err)
		}
		n++
		if n%progressEvery == 0 {
			if err := tick(ctx, in.Progress, n); err != nil {
				return Result{}, err
			}
		}
	}
	if err := in.Rows.Err(); err != nil {
		return Result{}, fmt.Errorf("read rows: %w", err)
	}
	hw.tableEnd(n)
	if in.Summary != nil {
		sum, err := in.Summary(ctx)
		if err != nil {
			return Result{}, fmt.Errorf("summary: %w", err)
		}
		hw.summary(sum)
	}
	sha := hasher.Sum()
	hw.foot(in.Meta, n, sha)
	if hw.err == nil {
		hw.err = bw.Flush()
	}
	if hw.err != nil {
		return Result{}, fmt.Errorf("write html: %w", hw.err)
	}
	if in.Progress != nil {
		in.Progress(n)
	}
	return Result{Rows: n, Bytes: cw.n, SHA256: sha}, nil
}

// htmlWriter writes markup, keeping the first error.
type htmlWriter struct {
	w   *bufio.Writer
	err error
}

// raw writes markup as it is.
func (h *htmlWriter) raw(parts ...string) {
	for _, p := range parts {
		if h.err == nil {
			_, h.err = h.w.WriteString(p)
		}
	}
}

// text writes s escaped, with what neither HTML nor XML may hold (invalid
// UTF-8, control characters other than tab and line ends, noncharacters)
// replaced by U+FFFD.
func (h *htmlWriter) text(s string) {
	h.raw(html.EscapeString(strings.Map(htmlRune, strings.ToValidUTF8(s, "\uFFFD"))))
}

// htmlRune keeps r, or replaces it by U+FFFD where a page may not hold it.
func htmlRune(r rune) rune {
	switch {
	case r == '\t' || r == '\n' || r == '\r':
		return r
	case r < 0x20 || (r >= 0x7f && r <= 0x9f) || r == 0xfffe || r == 0xffff:
		return '\uFFFD'
	}
	return r
}

// elem writes <tag>escaped text</tag>.
func (h *htmlWriter) elem(tag, s string) {
	h.raw("<", tag, ">")
	h.text(s)
	h.raw("</", tag, ">")
}

func (h *htmlWriter) head(m Meta) {
	title := m.Title
	if title == "" {
		title = m.Report
	}
	h.raw(`<!DOCTYPE html>`, "\n", `<html lang="en">`, "\n<head>\n", `<meta charset="utf-8"/>`, "\n",
		`<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'"/>`, "\n",
		`<meta name="viewport" content="width=device-width, initial-scale=1"/>`, "\n")
	h.elem("title", title)
	h.raw("\n<style>", htmlStyle, "</style>\n</head>\n<body>\n<header>\n")
	h.elem("h1", title)
	h.raw("\n", `<dl class="meta">`, "\n")
	for _, p := range m.Params {
		h.pair(heading(p.Name), p.Value)
	}
	if m.Period != "" {
		h.pair("Period", m.Period)
	}
	if !m.GeneratedAt.IsZero() {
		h.pair("Generated at", m.GeneratedAt.UTC().Format(htmlTimeLayout))
	}
	if m.GeneratedBy != "" {
		h.pair("Generated by", m.GeneratedBy)
	}
	h.raw("</dl>\n</header>\n")
}

// pair writes one <dt>/<dd> pair.
func (h *htmlWriter) pair(k, v string) {
	h.elem("dt", k)
	h.elem("dd", v)
	h.raw("\n")
}

func (h *htmlWriter) tableStart(cols []Column) {
	h.raw(`<table class="detail">`, "\n<caption>Detail</caption>\n<thead><tr>")
	for _, c := range cols {
		h.raw(`<th scope="col">`)
		h.text(htmlHeader(c))
		h.raw("</th>")
	}
	h.raw("</tr></thead>\n<tbody>\n")
}

func (h *htmlWriter) row(cols []Column, vals []any) {
	h.raw("<tr>")
	for i, c := range cols {
		if c.Kind == Int || c.Kind == Float {
			h.raw(`<td class="num">`)
		} else {
			h.raw("<td>")
		}
		h.text(htmlText(vals[i]))
		h.raw("</td>")
	}
	h.raw("</tr>\n")
}

func (h *htmlWriter) tableEnd(n int64) {
	h.raw("</tbody>\n</table>\n")
	if n == 0 {
		h.raw(`<p class="empty">No records in this period.</p>`, "\n")
	}
}

// summary writes the totals as a table and each pivot as a table.
func (h *htmlWriter) summary(s Summary) {
	if len(s.Totals) == 0 && len(s.Pivots) == 0 {
		return
	}
	h.raw("<section class=\"summary\">\n<h2>Summary</h2>\n")
	if len(s.Totals) > 0 {
		h.raw("<table class=\"totals\">\n<tbody>\n")
		for _, t := range s.Totals {
			h.raw(`<tr><th scope="row">`)
			h.text(t.Label)
			h.raw(`</th><td class="num">`)
			h.text(strconv.FormatFloat(t.Value, 'f', -1, 64))
			h.raw("</td></tr>\n")
		}
		h.raw("</tbody>\n</table>\n")
	}
	for _, p := range s.Pivots {
		h.pivot(p)
	}
	h.raw("</section>\n")
}

func (h *htmlWriter) pivot(p Pivot) {
	h.raw("<table class=\"pivot\">\n")
	h.elem("caption", p.Title)
	h.raw("\n<thead><tr>")
	h.raw(`<th scope="col">`)
	h.text(heading(p.RowHeader))
	h.raw("</th>")
	for _, c := range p.ColHeaders {
		h.raw(`<th scope="col">`)
		h.text(c)
		h.raw("</th>")
	}
	h.raw("</tr></thead>\n<tbody>\n")
	for _, r := range p.Rows {
		h.raw(`<tr><th scope="row">`)
		h.text(r.Label)
		h.raw("</th>")
		for _, v := range r.Values {
			h.raw(`<td class="num">`)
			h.text(strconv.FormatFloat(v, 'f', -1, 64))
			h.raw("</td>")
		}
		h.raw("</tr>\n")
	}
	h.raw("</tbody>\n</table>\n")
}

// foot writes the run's particulars and the SQL the report states.
func (h *htmlWriter) foot(m Meta, rows int64, sha string) {
	h.raw("<footer>\n<h2>About this report</h2>\n<dl class=\"meta\">\n")
	h.pair("Report", m.Report)
	h.pair("Rows", strconv.FormatInt(rows, 10))
	h.pair("SHA-256 of the detail data (csv form)", sha)
	if m.Version != "" {
		h.pair("privaudit version", m.Version)
	}
	if m.Ledger != "" {
		h.pair("Consent ledger", m.Ledger)
	}
	if m.Checkpoint != "" {
		h.pair("Proof log checkpoint", m.Checkpoint)
	}
	h.raw("</dl>\n")
	if len(m.SQL) > 0 {
		h.raw("<section class=\"sql\">\n<h2>SQL</h2>\n")
		for _, s := range m.SQL {
			h.elem("h3", s.Name)
			h.elem("pre", strings.TrimSpace(s.SQL))
			h.raw("\n")
		}
		h.raw("</section>\n")
	}
	h.raw("</footer>\n</body>\n</html>\n")
}

// htmlText is a value as the page shows it: times in htmlTimeLayout,
// lists joined with "; ", the rest as csv writes it.
func htmlText(v any) string {
	switch x := v.(type) {
	case time.Time:
		if x.IsZero() {
			return ""
		}
		return x.UTC().Format(htmlTimeLayout)
	case []string:
		return strings.Join(x, "; ")
	case bool:
		if x {
			return "yes"
		}
		return "no"
	}
	return Text(String, v)
}

// heading turns a column or parameter name into a heading: "what_happened"
// becomes "What happened".
// htmlHeader is c's header: its plain-word label, else its name in
// words; a time column names its zone, UTC.
func htmlHeader(c Column) string {
	s := c.Label
	if s == "" {
		s = heading(c.Name)
	}
	if c.Kind == Time {
		s += " (UTC)"
	}
	return s
}

func heading(name string) string {
	s := strings.ReplaceAll(name, "_", " ")
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
