package reports

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/privaudit/privaudit/queries"
	"github.com/privaudit/privaudit/reports/render"
)

// summarize runs a report's summary queries: the totals (one row of Float64
// columns), the pivots (rows of row_label, col_label, value) and the
// rollups (rows of key columns and a value, folded into several pivots).
func summarize(ctx context.Context, conn driver.Conn, specs []SummarySpec, sqls []string, args []any) (render.Summary, error) {
	var sum render.Summary
	for i, s := range specs {
		rows, err := queryBound(ctx, conn, sqls[i], args)
		if err != nil {
			return sum, fmt.Errorf("summary %s: %w", s.Section, err)
		}
		switch {
		case len(s.Rollup) > 0:
			var ps []render.Pivot
			ps, err = readRollup(rows, s.Rollup)
			sum.Pivots = append(sum.Pivots, ps...)
		case s.Pivot == nil:
			var totals []render.Total
			totals, err = readTotals(rows)
			sum.Totals = append(sum.Totals, totals...)
			sum.Notes = append(sum.Notes, zeroNotes(totals, s.ZeroNotes)...)
		default:
			var p render.Pivot
			p, err = readPivot(rows, *s.Pivot)
			sum.Pivots = append(sum.Pivots, p)
		}
		rows.Close()
		if err != nil {
			return sum, fmt.Errorf("summary %s: %w", s.Section, err)
		}
	}
	return sum, nil
}

// zeroNotes returns the text of each note whose total is zero.
func zeroNotes(totals []render.Total, notes []ZeroNote) []string {
	var out []string
	for _, n := range notes {
		i := slices.IndexFunc(totals, func(t render.Total) bool { return t.Label == n.Total })
		if i >= 0 && totals[i].Value == 0 {
			out = append(out, n.Text)
		}
	}
	return out
}

// queryBound runs sql with args, whose String values (a customer's
// subject_id) travel beside the query text, never in it (see
// queries.ExternalArgs).
func queryBound(ctx context.Context, conn driver.Conn, sql string, args []any) (driver.Rows, error) {
	sql, args, extArgs, err := queries.ExternalArgs(sql, args)
	if err != nil {
		return nil, err
	}
	if extArgs != nil {
		ctx = clickhouse.Context(ctx, extArgs)
	}
	return conn.Query(ctx, sql, args...)
}

// readTotals reads one row of Float64 columns, labelled by column name.
func readTotals(rows driver.Rows) ([]render.Total, error) {
	names := rows.Columns()
	vals := make([]float64, len(names))
	dest := make([]any, len(names))
	for i := range vals {
		dest[i] = &vals[i]
	}
	if !rows.Next() {
		return nil, fmt.Errorf("totals query returned no row: %w", rows.Err())
	}
	if err := rows.Scan(dest...); err != nil {
		return nil, err
	}
	out := make([]render.Total, len(names))
	for i, n := range names {
		out[i] = render.Total{Label: n, Value: vals[i]}
	}
	return out, rows.Err()
}

// readPivot folds (row_label, col_label, value) rows into a cross table.
func readPivot(rows driver.Rows, spec PivotSpec) (render.Pivot, error) {
	var f pivotFold
	for rows.Next() {
		var r, c string
		var v float64
		if err := rows.Scan(&r, &c, &v); err != nil {
			return render.Pivot{}, err
		}
		f.add(r, c, v)
	}
	if err := rows.Err(); err != nil {
		return render.Pivot{}, err
	}
	return f.pivot(spec), nil
}

// readRollup folds the rows of one GROUP BY over the finest keys (String or
// Array(String) columns, then a Float64 value) into one cross table per
// spec, each summing the value by its Row and Col columns: several pivots
// in one pass over the report's rows. An Array(String) key counts the value
// once for each of its elements, as ARRAY JOIN would.
func readRollup(rows driver.Rows, specs []PivotSpec) ([]render.Pivot, error) {
	names := rows.Columns()
	nk := len(names) - 1
	strs, lists := make([]string, nk), make([][]string, nk)
	isList := make([]bool, nk)
	var v float64
	dest := make([]any, nk+1)
	for i, ct := range rows.ColumnTypes()[:nk] {
		isList[i] = ct.DatabaseTypeName() == "Array(String)"
		dest[i] = &strs[i]
		if isList[i] {
			dest[i] = &lists[i]
		}
	}
	dest[nk] = &v
	idx := make([][2]int, len(specs))
	for i, sp := range specs {
		idx[i] = [2]int{slices.Index(names[:nk], sp.Row), slices.Index(names[:nk], sp.Col)}
		if idx[i][0] < 0 || idx[i][1] < 0 {
			return nil, fmt.Errorf("rollup %q: no key column %s or %s among %v", sp.Title, sp.Row, sp.Col, names)
		}
	}
	folds := make([]pivotFold, len(specs))
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return nil, err
		}
		for i := range strs {
			if !isList[i] {
				lists[i] = append(lists[i][:0], strs[i])
			}
		}
		for i := range specs {
			for _, r := range lists[idx[i][0]] {
				for _, c := range lists[idx[i][1]] {
					folds[i].add(r, c, v)
				}
			}
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	out := make([]render.Pivot, len(specs))
	for i, sp := range specs {
		out[i] = folds[i].pivot(sp)
	}
	return out, nil
}

// pivotFold sums values into the cells of a cross table.
type pivotFold struct {
	cells     map[string]map[string]float64
	rowLabels []string
	cols      map[string]bool
}

func (f *pivotFold) add(r, c string, v float64) {
	if f.cells == nil {
		f.cells, f.cols = map[string]map[string]float64{}, map[string]bool{}
	}
	if f.cells[r] == nil {
		f.cells[r] = map[string]float64{}
		f.rowLabels = append(f.rowLabels, r)
	}
	f.cells[r][c] += v
	f.cols[c] = true
}

// pivot shapes the folded cells as spec asks.
func (f *pivotFold) pivot(spec PivotSpec) render.Pivot {
	p := render.Pivot{Title: spec.Title, RowHeader: spec.RowHeader, Chart: spec.Chart, Empty: spec.Empty,
		ColHeaders: pivotColumns(f.cols, spec.ColumnOrder, spec.Fixed)}
	for _, r := range f.rowLabels {
		pr := render.PivotRow{Label: r, Values: make([]float64, len(p.ColHeaders))}
		for j, c := range p.ColHeaders {
			pr.Values[j] = f.cells[r][c]
		}
		p.Rows = append(p.Rows, pr)
	}
	p.Rows = limitRows(sortPivotRows(p.Rows, spec.ByLabel), spec.MaxRows, len(p.ColHeaders))
	return p
}

// pivotColumns orders the column labels: those of order first, in order,
// then the others alphabetically. With fixed, every label of order is a
// column even when absent.
func pivotColumns(present map[string]bool, order []string, fixed bool) []string {
	var out, rest []string
	for _, c := range order {
		if fixed || present[c] {
			out = append(out, c)
		}
	}
	for c := range present {
		if !slices.Contains(order, c) {
			rest = append(rest, c)
		}
	}
	slices.Sort(rest)
	return append(out, rest...)
}

func rowTotal(r render.PivotRow) float64 {
	var t float64
	for _, v := range r.Values {
		t += v
	}
	return t
}

func sortPivotRows(rows []render.PivotRow, byLabel bool) []render.PivotRow {
	slices.SortFunc(rows, func(a, b render.PivotRow) int {
		if !byLabel {
			if ta, tb := rowTotal(a), rowTotal(b); ta != tb {
				if ta > tb {
					return -1
				}
				return 1
			}
		}
		return strings.Compare(a.Label, b.Label)
	})
	return rows
}

// limitRows keeps max rows (25 if 0) and sums the others into one row.
func limitRows(rows []render.PivotRow, max, ncols int) []render.PivotRow {
	if max <= 0 {
		max = 25
	}
	if len(rows) <= max {
		return rows
	}
	other := render.PivotRow{Label: fmt.Sprintf("(%d others)", len(rows)-max+1), Values: make([]float64, ncols)}
	for _, r := range rows[max-1:] {
		for j, v := range r.Values {
			other.Values[j] += v
		}
	}
	return append(rows[:max-1:max-1], other)
}
