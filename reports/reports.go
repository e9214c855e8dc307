// Package reports turns the access and consent events in ClickHouse into the
// reports of SPEC §4. Every report follows one path — definition → query →
// rows → renderer: a Definition names its columns, parameters and SQL file
// (queries/reports/NAME.sql, whose detail query reads the stored SPEC §3
// verdicts through queries/reports/verdicts.sql), the Runner waits until the
// verdicts reflect every record accepted before the run, binds the parameters,
// streams the rows from ClickHouse into the renderer of the requested format
// (csv, json, xlsx) and records the run itself as an access event, so the
// auditors are audited too. Adding a report is one small file here plus its
// SQL file.
package reports

import (
	"github.com/privaudit/privaudit/audit"
	"github.com/privaudit/privaudit/reports/render"
)

// Verdicts lists every verdict in the order summaries show them
// (audit.Verdicts: the acceptable ones first, then the violations in SPEC §3
// order).
var Verdicts = audit.VerdictNames()

// ViolationVerdicts lists the verdicts that are violations, in the same
// order.
var ViolationVerdicts = violationNames()

func violationNames() []string {
	var out []string
	for _, v := range audit.Verdicts() {
		if v.IsViolation() {
			out = append(out, string(v))
		}
	}
	return out
}

// Definition describes one report of the catalog.
type Definition struct {
	// Name is the report's name in URLs and on the command line, e.g.
	// "subject-access".
	Name        string
	Title       string
	Description string
	// Params are the report's own parameters; the period (from, to) is
	// common to every report and not listed here.
	Params []ParamSpec
	// Columns are the detail columns, in the order the SQL returns them
	// (times as Int64 Unix nanoseconds, 0 for none; booleans as UInt8).
	Columns []render.Column
	// SQL names the file queries/reports/SQL.sql: its body is the detail
	// query, its {{define}} blocks the summary queries.
	SQL string
	// Detail, if set, names the {{define}} block of the SQL file that is
	// the detail query instead of the file's body, so two reports share
	// one file.
	Detail string
	// Transform, if set, rewrites the detail rows between the SQL and the
	// renderer (e.g. into plain words).
	Transform *Transform
	// Audience is who the report is written for: AudienceOfficer (the
	// default) or AudienceCustomer.
	Audience Audience
	// Summary lists the summary queries of the xlsx Summary sheet.
	Summary []SummarySpec
	// Categories are the data categories the report reveals, recorded on
	// the access event of each run.
	Categories []string
	// Check, if set, validates the parameters together once each is valid
	// on its own (e.g. a start before an end); values hold every
	// parameter, defaults filled in.
	Check func(values map[string]string) error
	// SubjectParam, if set, names the parameter holding the one customer
	// the report is about; the run's access event names that customer as
	// its subject (so it shows in the customer's own subject-access report).
	SubjectParam string
	// Bind holds fixed String values bound to the SQL as @NAME beside the
	// parameters: constants the SQL compares with whose one home is Go
	// (e.g. audit.TrailPurposeReport), so the SQL does not restate them.
	Bind map[string]string
	// Filters names the filters (FilterSpecs) the report applies, in
	// display order; any other filter is refused. Reports reading access
	// events take AllFilters, consent events ConsentFilters.
	Filters []string
}

// Transform rewrites a report's detail rows on their way from the SQL to
// the renderer, one row out for each row in.
type Transform struct {
	// From are the columns the SQL returns; the renderer gets the
	// Definition's Columns.
	From []render.Column
	// Rows wraps the SQL's rows; it is called once per run.
	Rows func(src render.Rows) render.Rows
}

// Audience is who a report is written for.
type Audience string

// Audiences. A report for the customer (GDPR Art. 15) states neither who ran
// it (only the issuer, CustomerIssuer) nor its SQL: its header and About
// sheet carry no internal names.
const (
	AudienceOfficer  Audience = ""
	AudienceCustomer Audience = "customer"
)

// CustomerIssuer is who a customer-ready report says generated it.
const CustomerIssuer = "The bank's data protection office"

// sqlColumns are the columns the definition's detail SQL returns.
func (d Definition) sqlColumns() []render.Column {
	if d.Transform != nil {
		return d.Transform.From
	}
	return d.Columns
}

// ParamKind is the type of a report parameter.
type ParamKind string

// Parameter kinds. Values arrive as strings and are bound to the SQL as
// String or Int64.
const (
	ParamString ParamKind = "string"
	ParamInt    ParamKind = "int"
)

// ParamSpec describes one report parameter, bound to the SQL as @Name.
type ParamSpec struct {
	Name        string    `json:"name"`
	Kind        ParamKind `json:"kind"`
	Description string    `json:"description"`
	Required    bool      `json:"required"`
	// Default is used when the parameter is not given (optional ones only).
	Default string `json:"default,omitempty"`
	// Min and Max bound an int parameter (inclusive) when Max > Min.
	Min int64 `json:"min,omitempty"`
	Max int64 `json:"max,omitempty"`
}

// SummarySpec is one summary query: a {{define}} block of the report's SQL
// file. Without Pivot or Rollup it returns one row of Float64 columns, each
// a total labelled by its column name; with Pivot it returns rows
// (row_label, col_label, value) folded into a cross table; with Rollup it
// returns one GROUP BY over the finest keys (String key columns, then a
// Float64 value), folded into one cross table per PivotSpec by its Row and
// Col key columns: several pivots computed in one pass over the rows.
type SummarySpec struct {
	Section string
	Pivot   *PivotSpec
	Rollup  []PivotSpec
	// ZeroNotes state a sentence on the Summary sheet when a total of
	// this section is zero (e.g. "No violations in this period."), where
	// a bare 0 would read as a figure to look into.
	ZeroNotes []ZeroNote
}

// ZeroNote is a sentence stated when the total labelled Total is zero.
type ZeroNote struct{ Total, Text string }

// PivotSpec shapes a pivot summary.
type PivotSpec struct {
	Title     string
	RowHeader string
	// Row and Col name the key columns a pivot of a SummarySpec.Rollup
	// sums the value by (unused for SummarySpec.Pivot).
	Row, Col string
	// Chart asks the xlsx renderer for a native chart of the pivot.
	Chart bool
	// ColumnOrder puts these column labels first, in this order (e.g. the
	// verdicts); other labels follow alphabetically.
	ColumnOrder []string
	// Fixed shows every label of ColumnOrder as a column, zeros
	// included, so a pivot keyed by verdict has the same columns every
	// day.
	Fixed bool
	// Empty is the sentence shown instead of the pivot when it has no
	// rows, e.g. "No violations in this period."
	Empty string
	// ByLabel orders rows by label (e.g. hours) instead of by their total,
	// largest first.
	ByLabel bool
	// MaxRows keeps this many rows and sums the rest into one "(others)"
	// row; 0 means 25.
	MaxRows int
}
