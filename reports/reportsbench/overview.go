package reportsbench

import (
	"context"
	"fmt"
	"time"

	"github.com/privaudit/privaudit/reports/console"
)

// OverviewName is the console overview's figure.
const OverviewName = "console overview (the period)"

// targetOverviewRatio: the overview of the period ≤ 1× the raw FINAL read
// of the period (issue 17).
const targetOverviewRatio = 1.0

// overview times the console's overview of the period: the summaries of
// its reports as the console computes them (console.Figures), side by side.
func (b *bench) overview(ctx context.Context) (Figure, error) {
	fmt.Fprintf(b.o.Log, "%s…\n", OverviewName)
	f := Figure{Name: OverviewName}
	start := time.Now()
	sums, err := console.Figures(ctx, b.runner, periodFrom, periodTo, "reportsbench", "bench")
	f.Seconds = time.Since(start).Seconds()
	if err != nil {
		if ctx.Err() != nil {
			return f, fmt.Errorf("%s: %w", OverviewName, err)
		}
		f.Err = err.Error()
		fmt.Fprintf(b.o.Log, "  FAILED after %.1f s: %s\n", f.Seconds, f.Err)
		return f, nil
	}
	for _, s := range sums {
		f.Rows += int64(len(s.Totals))
		for _, p := range s.Pivots {
			f.Rows += int64(len(p.Rows))
		}
	}
	if err := b.m.collect(ctx, &f, ""); err != nil {
		return f, err
	}
	fmt.Fprintf(b.o.Log, "  %s\n", figureText(f))
	return f, nil
}

// overviewTarget compares the overview with the raw FINAL read of the
// period.
func overviewTarget(r Result) string {
	f := r.Overview
	if f.Err != "" {
		return "NOT MET (the overview failed)"
	}
	base, ok := r.Baseline(BaseNullFinal)
	if !ok {
		return "no baseline"
	}
	return fmt.Sprintf("%s; its %d queries run three at a time (one per report), so its peak is at most the three highest summed",
		ratioTarget("to "+BaseNullFinal, f.Seconds, base.Seconds, targetOverviewRatio), f.Queries)
}
