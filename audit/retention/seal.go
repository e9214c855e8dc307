package retention

import (
	"context"
	"fmt"
	"slices"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"golang.org/x/mod/sumdb/note"

	"github.com/privaudit/privaudit/audit"
	"github.com/privaudit/privaudit/queries"
)

// seal records the proof log leaves the drop d is about to remove (for a
// table whose records are leaves) and signs d with Options.Key, before
// its intent is recorded: a roll-forward then finds both.
func (j *Job) seal(ctx context.Context, t Table, d *Drop) error {
	var runs []audit.LeafRange
	if t.Kind != "" {
		var err error
		if runs, err = j.partitionLeaves(ctx, t, d.Partition); err != nil {
			return err
		}
		if err := j.storeLeaves(ctx, t, d.ID, runs); err != nil {
			return err
		}
	}
	return j.sign(d, runs)
}

// partitionLeaves streams the leaf indexes of the records partition of t
// holds, merged into runs as they arrive.
func (j *Job) partitionLeaves(ctx context.Context, t Table, partition string) ([]audit.LeafRange, error) {
	rows, err := j.o.Conn.Query(ctx, j.sql["leaves_"+t.Name], month(partition))
	if err != nil {
		return nil, fmt.Errorf("retention: read the proof log leaves of partition %s of %s: %w", partition, t.Name, err)
	}
	defer rows.Close()
	var runs []audit.LeafRange
	for rows.Next() {
		var i uint64
		if err := rows.Scan(&i); err != nil {
			return nil, fmt.Errorf("retention: read the proof log leaves of partition %s of %s: %w", partition, t.Name, err)
		}
		runs = audit.AddLeaf(runs, i)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("retention: read the proof log leaves of partition %s of %s: %w", partition, t.Name, err)
	}
	return runs, nil
}

func (j *Job) storeLeaves(ctx context.Context, t Table, dropID string, runs []audit.LeafRange) error {
	if len(runs) == 0 {
		return nil
	}
	b, err := j.o.Conn.PrepareBatch(ctx, j.sql["insert_drop_leaves"])
	if err != nil {
		return fmt.Errorf("retention: record the leaves of drop %s: %w", dropID, err)
	}
	for _, r := range runs {
		if err := b.Append(dropID, t.Kind, r.First, r.Last); err != nil {
			_ = b.Abort()
			return fmt.Errorf("retention: record the leaves of drop %s: %w", dropID, err)
		}
	}
	if err := b.Send(); err != nil {
		return fmt.Errorf("retention: record the leaves of drop %s: %w", dropID, err)
	}
	return nil
}

// sign sets d.Signature to the seal of d with its leaf runs, unless no key
// is configured.
func (j *Job) sign(d *Drop, runs []audit.LeafRange) error {
	if j.o.Key == nil {
		return nil
	}
	sig, err := j.o.Key.SignDrop(d.seal(runs))
	if err != nil {
		return fmt.Errorf("retention: sign drop %s: %w", d.ID, err)
	}
	d.Signature = string(sig)
	return nil
}

// resealStored signs the unsigned intent d (recorded while no key was
// configured) from the leaf runs stored for it.
func (j *Job) resealStored(ctx context.Context, d *Drop) error {
	if d.Signature != "" || j.o.Key == nil {
		return nil
	}
	runs, err := storedLeaves(ctx, j.o.Conn, j.sql["drop_leaves"], d.ID)
	if err != nil {
		return err
	}
	return j.sign(d, runs)
}

// leavesMoved says why the intent d may not be carried out as sealed: its
// partition now holds other leaves than the runs stored for d (records
// stored into it since the intent); "" when they are the same.
func (j *Job) leavesMoved(ctx context.Context, t Table, d Drop) (string, error) {
	if t.Kind == "" {
		return "", nil
	}
	now, err := j.partitionLeaves(ctx, t, d.Partition)
	if err != nil {
		return "", err
	}
	sealed, err := storedLeaves(ctx, j.o.Conn, j.sql["drop_leaves"], d.ID)
	if err != nil {
		return "", err
	}
	if slices.Equal(now, sealed) {
		return "", nil
	}
	return fmt.Sprintf("records stored into the partition since the intent (%d proof log leaves, %d sealed): dropped afresh",
		audit.LeafCount(now), audit.LeafCount(sealed)), nil
}

func storedLeaves(ctx context.Context, conn driver.Conn, sql, dropID string) ([]audit.LeafRange, error) {
	rows, err := conn.Query(ctx, sql, dropID)
	if err != nil {
		return nil, fmt.Errorf("retention: read the leaves of drop %s: %w", dropID, err)
	}
	defer rows.Close()
	var runs []audit.LeafRange
	for rows.Next() {
		var r audit.LeafRange
		if err := rows.Scan(&r.First, &r.Last); err != nil {
			return nil, fmt.Errorf("retention: read the leaves of drop %s: %w", dropID, err)
		}
		runs = append(runs, r)
	}
	return runs, rows.Err()
}

// seal is what the proof key signs about d, with its leaf runs.
func (d Drop) seal(runs []audit.LeafRange) audit.DropSeal {
	return audit.DropSeal{DropID: d.ID, DB: d.DB, Table: d.Table, Partition: d.Partition, From: d.From, To: d.To,
		Rows: d.Rows, Leaves: runs}
}

// SealedDrops returns every drop recorded done of a table whose records
// are proof log leaves (access_events, consent_events), oldest first, with
// the leaf runs recorded for it and, in Problem, why its seal does not
// hold under verifierKey (the proof key's verifier key, as `privaudit key
// show` prints it): unsigned, signed by another key, or leaf runs altered
// since signed.
func SealedDrops(ctx context.Context, conn driver.Conn, s queries.Schema, verifierKey string) ([]audit.SealedDrop, error) {
	all, err := AllSealedDrops(ctx, conn, s, verifierKey)
	if err != nil {
		return nil, err
	}
	var out []audit.SealedDrop
	for _, d := range all {
		if i := tableIndex(d.Table); i >= 0 && Tables[i].Kind != "" {
			out = append(out, d)
		}
	}
	return out, nil
}

// AllSealedDrops is SealedDrops for the drops of every table (those of
// tables whose records are not leaves have no Leaves).
func AllSealedDrops(ctx context.Context, conn driver.Conn, s queries.Schema, verifierKey string) ([]audit.SealedDrop, error) {
	v, err := note.NewVerifier(verifierKey)
	if err != nil {
		return nil, fmt.Errorf("retention: verifier key %q: %w (want name+hash+key, as `privaudit key show` prints it)", verifierKey, err)
	}
	done, err := doneDrops(ctx, conn, s)
	if err != nil {
		return nil, err
	}
	runs, err := doneDropLeaves(ctx, conn, s)
	if err != nil {
		return nil, err
	}
	out := make([]audit.SealedDrop, 0, len(done))
	for _, r := range done {
		sd := audit.SealedDrop{DropID: r.ID, DB: r.DB, Table: r.Table, Partition: r.Partition, Rows: r.Rows,
			DoneAt: r.DoneAt, Leaves: runs[r.ID]}
		sd.Problem = audit.CheckDropSeal([]byte(r.Signature), v, r.seal(sd.Leaves))
		out = append(out, sd)
	}
	return out, nil
}

// doneDrops reads the drops SealedDrops reports.
func doneDrops(ctx context.Context, conn driver.Conn, s queries.Schema) ([]Drop, error) {
	q, err := queries.Retention("sealed_drops", s)
	if err != nil {
		return nil, err
	}
	rows, err := conn.Query(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("retention: read sealed drops: %w", err)
	}
	defer rows.Close()
	var out []Drop
	for rows.Next() {
		var d Drop
		if err := rows.Scan(&d.ID, &d.DB, &d.Table, &d.Partition, &d.From, &d.To, &d.Rows, &d.DoneAt, &d.Signature); err != nil {
			return nil, fmt.Errorf("retention: read sealed drops: %w", err)
		}
		d.Status = StatusDone
		out = append(out, d)
	}
	return out, rows.Err()
}

// doneDropLeaves reads the leaf runs of every drop recorded done, by drop.
func doneDropLeaves(ctx context.Context, conn driver.Conn, s queries.Schema) (map[string][]audit.LeafRange, error) {
	q, err := queries.Retention("sealed_drop_leaves", s)
	if err != nil {
		return nil, err
	}
	rows, err := conn.Query(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("retention: read the leaves of sealed drops: %w", err)
	}
	defer rows.Close()
	out := map[string][]audit.LeafRange{}
	for rows.Next() {
		var id string
		var r audit.LeafRange
		if err := rows.Scan(&id, &r.First, &r.Last); err != nil {
			return nil, fmt.Errorf("retention: read the leaves of sealed drops: %w", err)
		}
		out[id] = append(out[id], r)
	}
	return out, rows.Err()
}
