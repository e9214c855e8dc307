package verify

import (
	"context"
	"slices"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
)

// recheck takes the second look at the held differences: after
// RecheckAfter it compares those events again, in one query pair, and
// reports only the differences that persist.
func (c *comparer) recheck(ctx context.Context) error {
	if !c.holding || len(c.held) == 0 {
		return nil
	}
	first := int64(len(c.held))
	ids := make([]string, 0, len(c.held))
	for _, d := range c.held {
		ids = append(ids, d.EventID)
	}
	slices.Sort(ids)
	ids = slices.Compact(ids)
	c.held = nil
	if c.o.afterFirstPass != nil {
		c.o.afterFirstPass()
	}
	t := time.NewTimer(c.o.RecheckAfter)
	select {
	case <-t.C:
	case <-ctx.Done():
		t.Stop()
		return ctx.Err()
	}
	c.o.Logger.Info("verify verdicts: second look at the differences", "events", len(ids))
	second := &comparer{o: c.o, res: &Result{}}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	args := append(periodArgs(c.o.From, c.o.To), clickhouse.Named("ids", ids))
	evaluated, err := second.open(ctx, "recheck_evaluated", args)
	if err != nil {
		return err
	}
	defer evaluated.Close()
	stored, err := second.open(ctx, "recheck_stored", args)
	if err != nil {
		return err
	}
	defer stored.Close()
	if err := second.merge(&side{rows: evaluated}, &side{rows: stored, stored: true}); err != nil {
		return err
	}
	r := second.res
	c.res.Differing, c.res.Missing, c.res.Orphaned = r.Differing, r.Missing, r.Orphaned
	c.res.Settled = first - (r.Differing + r.Missing + r.Orphaned)
	return nil
}
