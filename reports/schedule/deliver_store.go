package schedule

import (
	"context"
	"fmt"
	"time"
)

// recordDelivery writes one try of a delivery target.
func (st *store) recordDelivery(ctx context.Context, row deliveryRow, instance string) error {
	var final uint8
	if row.outcome == DeliveryDelivered || row.outcome == DeliveryFailed {
		final = 1
	}
	var ended int64
	if !row.ended.IsZero() {
		ended = row.ended.Unix()
	}
	err := st.conn.Exec(ctx, st.sql["insert_delivery"], row.run.ID, row.run.Schedule, row.target.cfg.Name, row.target.cfg.Type,
		row.attempt, instance, row.started.Unix(), ended, row.outcome, final, row.detail, row.err, row.version)
	if err != nil {
		return fmt.Errorf("record delivery of run %s to %s: %w", row.run.ID, row.target.cfg.Name, err)
	}
	return nil
}

// deliveries returns the deliveries of the runs ids, by run id; each
// target's tries in order.
func (st *store) deliveries(ctx context.Context, ids []string) (map[string][]Delivery, error) {
	out := map[string][]Delivery{}
	if len(ids) == 0 {
		return out, nil
	}
	rows, err := st.conn.Query(ctx, st.sql["list_deliveries"], ids)
	if err != nil {
		return nil, fmt.Errorf("list deliveries: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			id, name, typ  string
			attempt        uint16
			started, ended time.Time
			a              DeliveryAttempt
		)
		if err := rows.Scan(&id, &name, &typ, &attempt, &started, &ended, &a.Outcome, &a.Detail, &a.Error); err != nil {
			return nil, fmt.Errorf("list deliveries: %w", err)
		}
		a.Attempt, a.StartedAt = int(attempt), started.UTC()
		if ended.Unix() > 0 {
			a.FinishedAt = ended.UTC()
		}
		ds := out[id]
		if len(ds) == 0 || ds[len(ds)-1].Target != name {
			ds = append(ds, Delivery{Target: name, Type: typ})
		}
		d := &ds[len(ds)-1]
		d.Attempts = append(d.Attempts, a)
		d.Status = a.Outcome
		out[id] = ds
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list deliveries: %w", err)
	}
	return out, nil
}

// unfinishedDeliveries returns, by run id, the targets of schedule that
// instance left unfinished and their last attempt.
func (st *store) unfinishedDeliveries(ctx context.Context, schedule, instance string) (map[string]map[string]int, error) {
	rows, err := st.conn.Query(ctx, st.sql["unfinished_deliveries"], schedule, instance)
	if err != nil {
		return nil, fmt.Errorf("unfinished deliveries of %s: %w", schedule, err)
	}
	defer rows.Close()
	out := map[string]map[string]int{}
	for rows.Next() {
		var id, name string
		var last uint16
		if err := rows.Scan(&id, &name, &last); err != nil {
			return nil, fmt.Errorf("unfinished deliveries of %s: %w", schedule, err)
		}
		if out[id] == nil {
			out[id] = map[string]int{}
		}
		out[id][name] = int(last)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("unfinished deliveries of %s: %w", schedule, err)
	}
	return out, nil
}

// withDeliveries adds to each successful attempt of runs the deliveries
// of its run.
func (st *store) withDeliveries(ctx context.Context, runs []Run) ([]Run, error) {
	var ids []string
	for _, r := range runs {
		if r.Status == StatusSuccess {
			ids = append(ids, r.ID)
		}
	}
	ds, err := st.deliveries(ctx, ids)
	if err != nil {
		return nil, err
	}
	for i, r := range runs {
		if r.Status == StatusSuccess {
			runs[i].Deliveries = ds[r.ID]
		}
	}
	return runs, nil
}
