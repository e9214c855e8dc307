package retention

import (
	"context"
	"fmt"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/privaudit/privaudit/queries"
)

// drop records the intent to drop the partition of d, drops it and records
// it done. A crash after the intent leaves it for rollForward.
func (j *Job) drop(ctx context.Context, t Table, d Drop) error {
	if err := j.seal(ctx, t, &d); err != nil {
		return err
	}
	d.Status = StatusIntent
	if err := j.record(ctx, d, 1); err != nil {
		return err
	}
	if err := j.crash(StageIntent, d); err != nil {
		return err
	}
	return j.finish(ctx, t, d)
}

// finish drops the partition of the intent d and records it done.
func (j *Job) finish(ctx context.Context, t Table, d Drop) error {
	conn, err := j.leader(ctx, t)
	if err != nil {
		return err
	}
	if err := conn.Exec(ctx, j.sql["drop_"+t.Name], d.Partition); err != nil {
		return fmt.Errorf("retention: drop partition %s of %s.%s: %w", d.Partition, d.DB, t.Name, err)
	}
	if err := j.crash(StageDropped, d); err != nil {
		return err
	}
	return j.done(ctx, d)
}

// done records the intent d done, once its partition is gone.
func (j *Job) done(ctx context.Context, d Drop) error {
	d.Status, d.DoneAt = StatusDone, j.o.Now().UTC().Truncate(time.Second)
	if err := j.resealStored(ctx, &d); err != nil {
		return err
	}
	if err := j.record(ctx, d, 2); err != nil {
		return err
	}
	j.dropped.Inc()
	j.o.Logger.Info("retention: partition dropped", "table", d.Table, "partition", d.Partition,
		"rows", d.Rows, "from", d.From, "to", d.To, "retention_months", d.Months)
	return nil
}

// leader is the connection to drop partitions of t through: Conn, or in
// cluster mode the replica leading t.
func (j *Job) leader(ctx context.Context, t Table) (driver.Conn, error) {
	if len(j.o.Replicas) == 0 {
		return j.o.Conn, nil
	}
	for _, c := range j.o.Replicas {
		var lead uint8
		err := c.QueryRow(ctx, j.sql["is_leader"], j.db(t), t.Name).Scan(&lead)
		if err == nil && lead == 1 {
			return c, nil
		}
	}
	return nil, fmt.Errorf("retention: no reachable replica leads %s.%s; partitions are dropped through the leader: check that every replica is up and in clickhouse.addr", j.db(t), t.Name)
}

func (j *Job) crash(stage string, d Drop) error {
	if j.o.Crash == nil {
		return nil
	}
	return j.o.Crash(stage, d)
}

// record writes one state of d.
func (j *Job) record(ctx context.Context, d Drop, version uint64) error {
	b, err := j.o.Conn.PrepareBatch(ctx, j.sql["record_drop"])
	if err != nil {
		return fmt.Errorf("retention: record drop of %s %s: %w", d.Table, d.Partition, err)
	}
	err = b.Append(d.ID, d.DB, d.Table, d.Partition, d.From, d.To, d.MinTime.UTC(), d.MaxTime.UTC(), d.Rows,
		uint16(d.Months), d.Status, d.Detail, d.Job, d.Instance, d.IntendedAt, d.DoneAt.UTC(), d.Signature, version)
	if err == nil {
		err = b.Send()
	}
	if err != nil {
		return fmt.Errorf("retention: record drop of %s %s: %w", d.Table, d.Partition, err)
	}
	return nil
}

// rollForward finishes each intent left by a crash: a partition already
// gone is recorded done; one still there is dropped, unless a hold set
// since keeps it or it now holds other proof log leaves than the intent
// sealed (the intent is then recorded cancelled, and the partition is
// dropped afresh by the run).
func (j *Job) rollForward(ctx context.Context) error {
	open, err := j.openIntents(ctx)
	if err != nil {
		return err
	}
	for _, d := range open {
		i := tableIndex(d.Table)
		if i < 0 || d.DB != j.db(Tables[i]) {
			j.o.Logger.Warn("retention: unfinished drop of a table the job does not know; left as is", "table", d.Table, "db", d.DB, "drop_id", d.ID)
			continue
		}
		t := Tables[i]
		j.o.Logger.Warn("retention: finishing a drop a crash interrupted", "table", t.Name, "partition", d.Partition, "drop_id", d.ID)
		if err := j.paused(d, func() error { return j.finishIntent(ctx, t, d) }); err != nil {
			return err
		}
	}
	return nil
}

// finishIntent finishes the intent d a crash interrupted (see rollForward).
func (j *Job) finishIntent(ctx context.Context, t Table, d Drop) error {
	parts, err := j.partitions(ctx, t)
	if err != nil {
		return err
	}
	if !hasPartition(parts, d.Partition) {
		return j.done(ctx, d)
	}
	why, err := j.stale(ctx, t, d)
	if err != nil {
		return err
	}
	if why != "" {
		d.Status, d.Detail = StatusCancelled, why
		return j.record(ctx, d, 2)
	}
	return j.finish(ctx, t, d)
}

// stale says why the intent d, whose partition is still there, must not
// be carried out now, or "".
func (j *Job) stale(ctx context.Context, t Table, d Drop) (string, error) {
	why, err := j.heldBy(ctx, t, d)
	if err != nil {
		return "", err
	}
	if why != "" {
		return "kept: legal hold set since the intent: " + why, nil
	}
	return j.leavesMoved(ctx, t, d)
}

func (j *Job) openIntents(ctx context.Context) ([]Drop, error) {
	rows, err := j.o.Conn.Query(ctx, j.sql["open_intents"])
	if err != nil {
		return nil, fmt.Errorf("retention: read unfinished drops: %w", err)
	}
	defer rows.Close()
	var out []Drop
	for rows.Next() {
		var d Drop
		var months uint16
		if err := rows.Scan(&d.ID, &d.DB, &d.Table, &d.Partition, &d.From, &d.To, &d.MinTime, &d.MaxTime, &d.Rows,
			&months, &d.Job, &d.Instance, &d.IntendedAt, &d.Signature); err != nil {
			return nil, fmt.Errorf("retention: read unfinished drops: %w", err)
		}
		d.Months, d.Status = int(months), StatusIntent
		out = append(out, d)
	}
	return out, rows.Err()
}

func tableIndex(name string) int {
	for i, t := range Tables {
		if t.Name == name {
			return i
		}
	}
	return -1
}

func hasPartition(parts []partition, id string) bool {
	for _, p := range parts {
		if p.id == id {
			return true
		}
	}
	return false
}

// Drops returns every recorded retention decision, oldest first: what a
// later verify reports as retention rather than tampering.
func Drops(ctx context.Context, conn driver.Conn, s queries.Schema) ([]Drop, error) {
	q, err := queries.Retention("list_drops", s)
	if err != nil {
		return nil, err
	}
	rows, err := conn.Query(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("retention: read drops: %w", err)
	}
	defer rows.Close()
	var out []Drop
	for rows.Next() {
		var d Drop
		var months uint16
		if err := rows.Scan(&d.ID, &d.DB, &d.Table, &d.Partition, &d.From, &d.To, &d.MinTime, &d.MaxTime, &d.Rows,
			&months, &d.Status, &d.Detail, &d.Job, &d.Instance, &d.IntendedAt, &d.DoneAt, &d.Signature); err != nil {
			return nil, fmt.Errorf("retention: read drops: %w", err)
		}
		d.Months = int(months)
		out = append(out, d)
	}
	return out, rows.Err()
}
