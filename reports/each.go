package reports

import (
	"context"
	"fmt"
	"io"

	"github.com/privaudit/privaudit/reports/render"
)

// FormatView is the format recorded for a run whose rows were shown on a
// page (Runner.Each) rather than written to a file.
const FormatView = "view"

// Each runs req like Run, but hands each detail row to fn, in the report's
// order, instead of rendering a file: for pages that show a report's rows
// (the console's customer timeline). vals holds one value per column of the
// report's Columns, of its Kind's Go type; the slice is reused between
// calls. The run is recorded like Run's, with format "view" and the SHA-256
// the csv of the same request carries. req.Format and req.Out are ignored;
// an error from fn ends the run, which is then not recorded.
func (r *Runner) Each(ctx context.Context, req RunRequest, fn func(vals []any) error) (RunResult, error) {
	req.Format, req.Out = "csv", io.Discard
	p, err := r.Plan(req)
	if err != nil {
		return RunResult{}, err
	}
	p.renderer, p.Format, p.ContentType, p.Filename = eachRenderer{fn}, FormatView, "", ""
	return r.run(ctx, p)
}

// eachRenderer is the renderer of Each: it calls fn per row and computes
// the detail digest.
type eachRenderer struct{ fn func(vals []any) error }

func (eachRenderer) Format() string       { return FormatView }
func (eachRenderer) ContentType() string  { return "" }
func (eachRenderer) IgnoresSummary() bool { return true }

func (e eachRenderer) Render(ctx context.Context, _ io.Writer, in render.Input) (render.Result, error) {
	hasher := render.NewDetailHasher(in.Columns)
	var n int64
	for in.Rows.Next() {
		vals := in.Rows.Values()
		hasher.Add(in.Columns, vals)
		if err := e.fn(vals); err != nil {
			return render.Result{}, fmt.Errorf("row %d: %w", n+1, err)
		}
		n++
		if in.Progress != nil && n%100_000 == 0 {
			in.Progress(n)
		}
	}
	if err := in.Rows.Err(); err != nil {
		return render.Result{}, err
	}
	if err := ctx.Err(); err != nil {
		return render.Result{}, err
	}
	return render.Result{Rows: n, SHA256: hasher.Sum()}, nil
}
