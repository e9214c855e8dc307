package reportsbench

import (
	"context"
	"fmt"
	"time"

	"github.com/privaudit/privaudit/reports"
)

// Timeline is the figure of one customer's timeline, as the console's
// customer lookup reads it.
const Timeline = "customer timeline (console)"

// targetTimelineRatio: one customer's timeline ≤ 3× the raw read of that
// customer's rows (issue 17).
const targetTimelineRatio = 3.0

// timeline times one customer's timeline server-side: Runner.Timeline, the
// subject-access rows read and linked (access to deciding consent change
// and back), which is what the console's page computes before drawing it.
func (b *bench) timeline(ctx context.Context, subject string) (Figure, error) {
	fmt.Fprintf(b.o.Log, "%s…\n", Timeline)
	f := Figure{Name: Timeline}
	start := time.Now()
	tl, err := b.runner.Timeline(ctx, reports.TimelineRequest{SubjectID: subject, From: periodFrom, To: periodTo,
		Actor: "reportsbench", Channel: "bench"})
	f.Seconds, f.Rows = time.Since(start).Seconds(), int64(len(tl.Entries))
	if err != nil {
		return f, fmt.Errorf("%s: %w", Timeline, err)
	}
	if err := b.m.collect(ctx, &f, ""); err != nil {
		return f, err
	}
	fmt.Fprintf(b.o.Log, "  %s\n", figureText(f))
	return f, nil
}

// timelineTarget compares the timeline with the raw read of the
// customer's rows.
func timelineTarget(r Result) string {
	base, ok := r.Baseline(BaseCustomer)
	if !ok {
		return "no baseline"
	}
	return fmt.Sprintf("%s; read %d rows (the raw read: %d); peak %.1f MiB (the raw read: %.1f MiB)",
		ratioTarget("to "+BaseCustomer, r.Timeline.Seconds, base.Seconds, targetTimelineRatio),
		r.Timeline.ReadRows, base.ReadRows, mib(r.Timeline.PeakBytes), mib(base.PeakBytes))
}
