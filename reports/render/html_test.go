package render

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"io"
	"strings"
	"testing"
)

// htmlDoc is what TestHTML reads back from a page.
type htmlDoc struct {
	headers []string   // the detail table's column headings
	rows    [][]string // its data cells
	text    string     // every text of the page
}

// parseHTML parses a page as strict XML (it must be well-formed) and reads
// its detail table.
func parseHTML(t *testing.T, b []byte) htmlDoc {
	t.Helper()
	dec := xml.NewDecoder(bytes.NewReader(b))
	dec.Strict = true
	var doc htmlDoc
	var all strings.Builder
	var path []string
	var cell *strings.Builder
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("the page is not well-formed: %v\n%s", err, b)
		}
		switch x := tok.(type) {
		case xml.StartElement:
			path = append(path, x.Name.Local)
			for _, a := range x.Attr {
				if a.Name.Local == "class" && a.Value == "detail" {
					path[len(path)-1] = "detail"
				}
			}
			if x.Name.Local == "tr" && strings.Join(path, "/") == "html/body/detail/tbody/tr" {
				doc.rows = append(doc.rows, nil)
			}
			if x.Name.Local == "td" || x.Name.Local == "th" {
				cell = &strings.Builder{}
			}
		case xml.EndElement:
			p := strings.Join(path, "/")
			switch {
			case p == "html/body/detail/thead/tr/th":
				doc.headers = append(doc.headers, cell.String())
			case p == "html/body/detail/tbody/tr/td":
				doc.rows[len(doc.rows)-1] = append(doc.rows[len(doc.rows)-1], cell.String())
			}
			path = path[:len(path)-1]
		case xml.CharData:
			all.Write(x)
			if cell != nil {
				cell.Write(x)
			}
		}
	}
	doc.text = all.String()
	return doc
}

// TestHTML renders rows with hostile text through the html renderer: the
// page is well-formed, holds one table row per row with every value
// escaped, states the summary and the same digest as the csv.
func TestHTML(t *testing.T) {
	rows := append(testRows(), []any{`<script>alert('x')</script> & "q"`, nil, []string{"<b>"}, int64(0), 0.0, false})
	var buf bytes.Buffer
	in := Input{
		Meta:    Meta{Report: "r", Title: "Title <i>", Params: []Param{{Name: "subject_id", Value: "<img src=x>"}}, SQL: []NamedSQL{{Name: "detail", SQL: "SELECT '<x>'"}}},
		Columns: testCols, Rows: &sliceRows{rows: rows},
		Summary: func(context.Context) (Summary, error) {
			return Summary{Totals: []Total{{Label: "Total <t>", Value: 4}},
				Pivots: []Pivot{{Title: "P", RowHeader: "recipient_id", ColHeaders: []string{"<c>"}, Rows: []PivotRow{{Label: "<r>", Values: []float64{2}}}}}}, nil
		},
	}
	res, err := HTML().Render(context.Background(), &buf, in)
	if err != nil {
		t.Fatal(err)
	}
	out := buf.Bytes()
	doc := parseHTML(t, out)
	if res.Rows != int64(len(rows)) || res.Bytes != int64(len(out)) || res.SHA256 != digest(rows) {
		t.Errorf("result %+v, want %d rows, %d bytes, sha256 %s", res, len(rows), len(out), digest(rows))
	}
	if strings.Join(doc.headers, "|") != "Id|At (UTC)|Cats|N|Pct|Flag" || len(doc.rows) != len(rows) {
		t.Fatalf("headers %q, %d rows, want 6 headers and %d rows", doc.headers, len(doc.rows), len(rows))
	}
	if got := doc.rows[0]; got[1] != "2026-10-01 08:30:00.123 UTC" || got[2] != "account_balance; card_transactions" || got[3] != "3" || got[5] != "yes" {
		t.Errorf("row 1: %q", got)
	}
	if got := doc.rows[3][0]; got != `<script>alert('x')</script> & "q"` {
		t.Errorf("hostile text reads back as %q", got)
	}
	if got := doc.rows[2][0]; got != "ctl\uFFFD bad\uFFFD utf8 \u2028" {
		t.Errorf("control characters and invalid UTF-8 read back as %q", got)
	}
	for _, raw := range []string{"<script", "<img", "<i>", "<b>", "<r>", "<c>", "<t>", "<x>"} {
		if bytes.Contains(out, []byte(raw)) {
			t.Errorf("%s is not escaped", raw)
		}
	}
	for _, want := range []string{"Title <i>", "<img src=x>", "Total <t>", "<r>", "SELECT '<x>'", res.SHA256} {
		if !strings.Contains(doc.text, want) {
			t.Errorf("the page does not state %q", want)
		}
	}
	if bytes.Contains(out, []byte("src=\"")) || bytes.Contains(out, []byte("href=")) || !bytes.Contains(out, []byte("@media print")) {
		t.Error("the page must load nothing and carry its print style")
	}
}

// TestHTMLEmptyAndFailingSummary checks an empty page says so, and a
// failing summary fails the rendering.
func TestHTMLEmptyAndFailingSummary(t *testing.T) {
	var buf bytes.Buffer
	if _, err := HTML().Render(context.Background(), &buf, Input{Columns: testCols, Rows: &sliceRows{}}); err != nil {
		t.Fatal(err)
	}
	if doc := parseHTML(t, buf.Bytes()); len(doc.rows) != 0 || !strings.Contains(doc.text, "No records in this period.") {
		t.Errorf("empty page: %d rows, text %q", len(doc.rows), doc.text)
	}
	_, err := HTML().Render(context.Background(), io.Discard, Input{Columns: testCols, Rows: &sliceRows{},
		Summary: func(context.Context) (Summary, error) { return Summary{}, errors.New("boom") }})
	if err == nil || !strings.Contains(err.Error(), "boom") {
		t.Errorf("failing summary: %v", err)
	}
}
