package sqlconsole

import (
	"context"
	"net/http"
	"strconv"
	"strings"

	"github.com/privaudit/privaudit/queries"
	"github.com/privaudit/privaudit/reports/render"
)

// renderColumns maps result columns to report columns by ClickHouse type.
func renderColumns(cols []queries.ColumnInfo) []render.Column {
	out := make([]render.Column, len(cols))
	for i, c := range cols {
		out[i] = render.Column{Name: c.Name, Kind: kindOf(c.DatabaseType)}
	}
	return out
}

// kindOf is the report column kind of a ClickHouse type.
func kindOf(dbType string) render.Kind {
	t := unwrapType(dbType)
	switch {
	case strings.HasPrefix(t, "Array("):
		switch inner := unwrapType(strings.TrimSuffix(strings.TrimPrefix(t, "Array("), ")")); {
		case inner == "String", strings.HasPrefix(inner, "FixedString"), strings.HasPrefix(inner, "Enum"):
			return render.List
		}
		return render.String
	case strings.HasPrefix(t, "Int"), strings.HasPrefix(t, "UInt"):
		return render.Int
	case strings.HasPrefix(t, "Float"):
		return render.Float
	case t == "Date", strings.HasPrefix(t, "DateTime"):
		return render.Time
	case t == "Bool":
		return render.Bool
	}
	return render.String
}

// renderRows adapts a query result to render.Rows, converting each value to
// its column kind's Go type.
type renderRows struct {
	res  *queries.Result
	cols []render.Column
	vals []any
}

func (r *renderRows) Next() bool { return r.res.Next() }
func (r *renderRows) Err() error { return r.res.Err() }

func (r *renderRows) Values() []any {
	src := r.res.Values()
	if r.vals == nil {
		r.vals = make([]any, len(src))
	}
	for i, v := range src {
		r.vals[i] = kindValue(r.cols[i].Kind, v)
	}
	return r.vals
}

// kindValue converts v to the Go type of kind k (see render.Kind).
func kindValue(k render.Kind, v any) any {
	if v == nil {
		return nil
	}
	switch k {
	case render.List:
		if xs, ok := v.([]any); ok {
			out := make([]string, len(xs))
			for i, x := range xs {
				out[i] = CellText(x)
			}
			return out
		}
		return v
	case render.Int, render.Float, render.Time, render.Bool:
		return v
	}
	if s, ok := v.(string); ok {
		return s
	}
	return CellText(v)
}

// lazyHeader sends the response headers at the first byte of the body, so
// a renderer that fails before writing anything still allows an error
// response.
type lazyHeader struct {
	w       http.ResponseWriter
	start   func()
	started bool
}

func (l *lazyHeader) Write(p []byte) (int, error) {
	if !l.started {
		l.started = true
		l.start()
	}
	return l.w.Write(p)
}

// streamXLSX renders res as a workbook. The xlsx renderer writes the package
// only after the last row, so the row count and truncation are sent as
// headers, and an error before that becomes an ordinary error response
// (started is false).
func (c *Console) streamXLSX(ctx context.Context, w http.ResponseWriter, res *queries.Result, ru *run) (started bool, err error) {
	cols := renderColumns(res.Columns())
	lw := &lazyHeader{w: w, start: func() {
		h := w.Header()
		h.Set("Content-Type", c.o.XLSX.ContentType())
		h.Set("Content-Disposition", `attachment; filename="`+fileName(ru)+`.xlsx"`)
		h.Set(HeaderQueryID, res.ID())
		h.Set(HeaderMaxRows, strconv.Itoa(c.o.Runner.MaxRows()))
		h.Set(HeaderRows, strconv.FormatInt(res.Rows(), 10))
		h.Set(HeaderTruncated, strconv.FormatBool(res.Truncated()))
		w.WriteHeader(http.StatusOK)
	}}
	in := render.Input{
		Meta:    c.meta(ru, res),
		Columns: cols,
		Rows:    &renderRows{res: res, cols: cols},
		Summary: func(context.Context) (render.Summary, error) {
			return render.Summary{Totals: []render.Total{
				{Label: "Rows returned", Value: float64(res.Rows())},
				{Label: "Row cap", Value: float64(c.o.Runner.MaxRows())},
				{Label: "Truncated at the row cap (1 = yes)", Value: boolFloat(res.Truncated())},
			}}, nil
		},
	}
	_, err = c.o.XLSX.Render(ctx, lw, in)
	if err == nil {
		err = res.Err()
	}
	return lw.started, err
}

// meta describes the run for the workbook's Summary and About sheets.
func (c *Console) meta(ru *run, res *queries.Result) render.Meta {
	m := render.Meta{
		Report: "query", Title: "Ad-hoc query",
		GeneratedAt: c.o.Now().UTC(), GeneratedBy: ru.user, Version: c.o.Version,
		SQL:    []render.NamedSQL{{Name: "query", SQL: ru.sql}},
		Params: []render.Param{{Name: "query_id", Value: res.ID()}},
	}
	if ru.req.Saved != "" {
		m.Report, m.Title = ru.req.Saved, ru.title
		// The workbook goes to the officer who gave the values: they belong
		// in its About sheet (unlike the logs and the audit trail).
		for _, name := range ru.params {
			m.Params = append(m.Params, render.Param{Name: name, Value: ru.req.Params[name]})
		}
	}
	return m
}

func fileName(ru *run) string {
	name := "privaudit-query"
	if ru.req.Saved != "" {
		name += "-" + ru.req.Saved
	}
	return name + "-" + ru.start.UTC().Format("20060102T150405Z")
}

func boolFloat(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
