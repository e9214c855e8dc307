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

// Column is one detail column.
type Column struct {
	Name  string
	Kind  Kind
	Width float64 // xlsx column width hint in characters; 0 = automatic
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
	SQL    []NamedSQL
}

// Param is one report parameter as displayed.
type Param struct{ Name, Value string }

// NamedSQL is one statement a report ran, for the About sheet.
type NamedSQL struct{ Name, SQL string }

// Summary is the small, already-aggregated part of a report: totals and
// pivots for the xlsx Summary sheet (csv and json ignore it).
type Summary struct {
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
