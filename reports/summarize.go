package reports

import (
	"context"
	"fmt"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"

	"github.com/privaudit/privaudit/reports/render"
)

// SummaryFormat is the format a summary run (Runner.Summarize) is recorded
// with: the report's figures, without its rows or a file.
const SummaryFormat = "summary"

// SummaryResult is one report's summary for a period.
type SummaryResult struct {
	Report string
	// Summary holds the report's totals and pivots, the figures its xlsx
	// Summary sheet shows for the same request.
	Summary render.Summary
	// Ledger is the consent ledger position the figures reflect.
	Ledger LedgerPosition
	// Checkpoint is the proof log checkpoint the figures were read under.
	Checkpoint Checkpoint
	// EventID is the access event recording the run.
	EventID string
}

// Summarize computes the summary of req's report — its totals and pivots
// for the period, parameters and filters, from the same summary queries a
// run renders on its Summary sheet — without reading its detail rows or
// producing a file. Like Run it first waits until the stored verdicts
// reflect every record accepted before it started, and records itself as
// an access event (format "summary", no rows revealed). req.Format and
// req.Out are ignored.
func (r *Runner) Summarize(ctx context.Context, req RunRequest) (SummaryResult, error) {
	req.Format, req.Out = "", nil
	p, err := r.Plan(req)
	if err != nil {
		return SummaryResult{}, err
	}
	p.Format = SummaryFormat
	name := p.Definition.Name
	start := r.o.Now()
	st, err := r.readState(ctx, start)
	if err != nil {
		return SummaryResult{}, fmt.Errorf("summarize report %s: %w", name, err)
	}
	sqls, err := r.sqlFor(p)
	if err != nil {
		return SummaryResult{}, fmt.Errorf("summarize report %s: %w", name, err)
	}
	qctx := clickhouse.Context(ctx, clickhouse.WithSettings(r.querySettings()))
	sum, err := summarize(qctx, r.o.Conn, p.Definition.Summary, sqls.summary, p.args)
	if err != nil {
		return SummaryResult{}, fmt.Errorf("summarize report %s: %w", name, err)
	}
	out := SummaryResult{Report: name, Summary: sum, Ledger: st.ledger, Checkpoint: st.checkpoint}
	ev := p.event(r.o.Now().UTC(), render.Result{}, st)
	if err := r.o.Recorder(ctx, ev); err != nil {
		return out, fmt.Errorf("summarize report %s: record the run: %w", name, err)
	}
	out.EventID = ev.EventID
	r.o.Logger.Info("report summary", "report", name, "duration", r.o.Now().Sub(start).Round(time.Millisecond))
	return out, nil
}
