// Package render defines the table a report produces — metadata, typed
// columns, a stream of rows and a small summary — and the renderers that
// turn it into a file (csv, json here; xlsx in reports/xlsx). Rows are
// streamed: a renderer never holds the whole result in memory.
package render

import (
	"context"
	"io"
	"time"
)

// Kind is a column's value type.
type Kind int

// Column kinds and the Go type of their values in a row.
const (
	String Kind = iota // string
	Int                // int64
	Float              // float64
	Time               // time.Time (UTC); rendered as a real date in xlsx, RFC 3339 in csv/json
	List               // []string; joined with ";" in csv, an array in json
	Bool               // bool
)

// Column is one detail column. Name is the identifier csv and json use
// as the column name (SPEC §4: machine-facing, stable); Label is the
// plain-word header the xlsx shows, "" meaning Name (for a Time column the
// xlsx adds the time zone, e.g. "Occurred at (UTC)"); Description says
// what the column holds, on the xlsx About sheet.
type Column struct {
	Name        string
	Label       string
	Description string
	Kind        Kind
	Width       float64 // xlsx column width hint in characters; 0 = automatic
}

// Header is the column's plain-word header: Label, or Name when unset.
func (c Column) Header() string {
	if c.Label != "" {
		return c.Label
	}
	return c.Name
}

// Rows is a stream of detail rows. Values returns the current row, one value
// per column with the Go type of the column's Kind; the slice may be reused
// by the next call to Next.
type Rows interface {
	Next() bool
	Values() []any
	Err() error
}

// Meta describes one rendering of a report, for the About sheet and headers.
type Meta struct {
	Report string
	Title  string
	Params []Param // in display order, including from/to
	// Filters are the filters the rows were narrowed by (the filter's name
	// in plain words, its value), in display order; none means every row
	// of the period.
	Filters     []Param
	GeneratedAt time.Time
	GeneratedBy string // token name or schedule
	Version     string // privaudit version
	// Ledger states the consent ledger position the report's verdicts
	// reflect, e.g. "every record accepted before 2026-12-07T14:03:04Z".
	Ledger string
	// Checkpoint states the proof log checkpoint the report's data was
	// read under, e.g. "the first 1200 records of log …, root …, signed
	// at …; check with `privaudit verify`"; "" states nothing.
	Checkpoint string
	SQL        []NamedSQL
	// Period is the report period as displayed, e.g. "1 Oct 2026 – 1 Nov
	// 2026 (to is exclusive: up to 31 Oct 2026 inclusive)"; "" for none.
	Period string
	// Location is the time zone of displayed times (xlsx date cells,
	// generated-at); nil means UTC. csv and json stay in UTC.
	Location *time.Location
	// ForCustomer marks a report written for the customer it is about:
	// renderers leave out privaudit's internal vocabulary (verdict codes,
	// column identifiers, SQL).
	ForCustomer bool
}

// Zone returns the time zone of displayed times: Location, or UTC.
func (m Meta) Zone() *time.Location {
	if m.Location == nil {
		return time.UTC
	}
	return m.Location
}

// Param is one report parameter as displayed.
type Param struct{ Name, Value string }

// NamedSQL is one statement a report ran, for the About sheet.
type NamedSQL struct{ Name, SQL string }

// Summary is the small, already-aggregated part of a report: totals and
// pivots for the xlsx Summary sheet (csv and json ignore it).
type Summary struct {
	// Notes are plain sentences stated first, e.g. "No violations in
	// this period."
	Notes  []string
	Totals []Total
	Pivots []Pivot
}

// Total is one labelled figure.
type Total struct {
	Label string
	Value float64
}

// Pivot is a small cross table, e.g. disclosures per recipient × verdict.
type Pivot struct {
	Title      string
	RowHeader  string   // e.g. "recipient_id"
	ColHeaders []string // e.g. the verdicts
	Rows       []PivotRow
	// Chart asks the xlsx renderer to draw a native (stacked bar) chart of it.
	Chart bool
	// Empty is the sentence shown instead of a pivot without rows, e.g.
	// "No violations in this period."; "" shows "Nothing in this period.".
	Empty string
}

// PivotRow is one row of a Pivot.
type PivotRow struct {
	Label  string
	Values []float64
}

// Result is what rendering produced.
type Result struct {
	Rows   int64
	Bytes  int64
	SHA256 string // of the detail data, in the canonical csv form (see DetailHasher)
	Sheets int    // xlsx: number of detail sheets
}

// Input is everything a renderer needs.
type Input struct {
	Meta    Meta
	Columns []Column
	Rows    Rows
	// Summary is called after the rows are consumed (it may run queries).
	Summary func(ctx context.Context) (Summary, error)
	// Progress, if set, is called every ~100k rows.
	Progress func(rows int64)
}

// Renderer writes a report in one format.
type Renderer interface {
	// Format is the file extension, e.g. "xlsx".
	Format() string
	// ContentType is the MIME type of the output.
	ContentType() string
	Render(ctx context.Context, w io.Writer, in Input) (Result, error)
}
