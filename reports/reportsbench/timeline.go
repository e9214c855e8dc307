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

// BaseCustomerKey is the raw read of one customer's rows through the
// tables' subject_id keys: what the timeline reads, without privaudit.
const BaseCustomerKey = "raw one customer's rows by subject_id key"

// customerKeyRows reads one customer's stored verdicts of the period and
// consent events, all columns, FINAL, through their subject_id keys.
func (b *bench) customerKeyRows(ctx context.Context, subject string) (Figure, error) {
	fmt.Fprintf(b.o.Log, "baseline: %s…\n", BaseCustomerKey)
	f := Figure{Name: BaseCustomerKey}
	db := b.t.Schema.DB
	start := time.Now()
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{"SELECT * FROM " + db + ".access_verdicts FINAL WHERE subject_id = ? AND occurred_at >= ? AND occurred_at < ?",
			[]any{subject, periodFrom, periodTo}},
		{"SELECT * FROM " + db + ".consent_events FINAL WHERE subject_id = ? AND effective_at < ?", []any{subject, periodTo}},
	} {
		rows, err := b.conn.Query(ctx, q.sql, q.args...)
		if err != nil {
			return f, fmt.Errorf("baseline %s: %w", BaseCustomerKey, err)
		}
		for rows.Next() {
			f.Rows++
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return f, fmt.Errorf("baseline %s: %w", BaseCustomerKey, err)
		}
	}
	f.Seconds = time.Since(start).Seconds()
	if err := b.m.collect(ctx, &f, ""); err != nil {
		return f, err
	}
	fmt.Fprintf(b.o.Log, "  %s\n", figureText(f))
	return f, nil
}

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
	s := fmt.Sprintf("%s; read %d rows (the raw read: %d); peak %.1f MiB (the raw read: %.1f MiB)",
		ratioTarget("to "+BaseCustomer, r.Timeline.Seconds, base.Seconds, targetTimelineRatio),
		r.Timeline.ReadRows, base.ReadRows, mib(r.Timeline.PeakBytes), mib(base.PeakBytes))
	if key, ok := r.Baseline(BaseCustomerKey); ok {
		s += fmt.Sprintf("; %.2f× the %s, which read %d rows", r.Timeline.Seconds/max(key.Seconds, 1e-6), BaseCustomerKey, key.ReadRows)
	}
	return s
}
