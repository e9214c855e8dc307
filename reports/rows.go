package reports

import (
	"fmt"
	"slices"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/privaudit/privaudit/reports/render"
)

// chRows adapts a ClickHouse result to render.Rows, converting each column
// to its Kind's Go type: Int64 nanoseconds to time.Time (UTC; 0 is no
// time), UInt8 to bool. It streams: one row in memory at a time.
type chRows struct {
	rows driver.Rows
	cols []render.Column
	dest []any
	vals []any
	n    int64
	err  error
}

// newRows checks that rows has the columns cols, by name and in order.
func newRows(rows driver.Rows, cols []render.Column) (*chRows, error) {
	names := make([]string, len(cols))
	for i, c := range cols {
		names[i] = c.Name
	}
	if got := rows.Columns(); !slices.Equal(got, names) {
		return nil, fmt.Errorf("the SQL returns columns %v, the definition expects %v", got, names)
	}
	r := &chRows{rows: rows, cols: cols, dest: make([]any, len(cols)), vals: make([]any, len(cols))}
	for i, c := range cols {
		switch c.Kind {
		case render.String:
			r.dest[i] = new(string)
		case render.Int, render.Time:
			r.dest[i] = new(int64)
		case render.Float:
			r.dest[i] = new(float64)
		case render.List:
			r.dest[i] = new([]string)
		case render.Bool:
			r.dest[i] = new(uint8)
		default:
			return nil, fmt.Errorf("column %s: unknown kind %d", c.Name, c.Kind)
		}
	}
	return r, nil
}

// Next advances to the next row.
func (r *chRows) Next() bool {
	if r.err != nil || !r.rows.Next() {
		return false
	}
	if err := r.rows.Scan(r.dest...); err != nil {
		r.err = fmt.Errorf("scan row %d: %w", r.n+1, err)
		return false
	}
	r.n++
	for i, c := range r.cols {
		switch c.Kind {
		case render.String:
			r.vals[i] = *r.dest[i].(*string)
		case render.Int:
			r.vals[i] = *r.dest[i].(*int64)
		case render.Time:
			r.vals[i] = nsTime(*r.dest[i].(*int64))
		case render.Float:
			r.vals[i] = *r.dest[i].(*float64)
		case render.List:
			r.vals[i] = *r.dest[i].(*[]string)
		case render.Bool:
			r.vals[i] = *r.dest[i].(*uint8) != 0
		}
	}
	return true
}

// Values returns the current row.
func (r *chRows) Values() []any { return r.vals }

// Err returns the first error of the scan or of the stream.
func (r *chRows) Err() error {
	if r.err != nil {
		return r.err
	}
	return r.rows.Err()
}

// nsTime converts Unix nanoseconds to UTC time; 0 means no time.
func nsTime(ns int64) time.Time {
	if ns == 0 {
		return time.Time{}
	}
	return time.Unix(0, ns).UTC()
}
