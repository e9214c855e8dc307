package proof

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"

	"github.com/privaudit/privaudit/audit"
)

// tableOf is the table of a leaf kind.
var tableOf = map[string]string{string(audit.KindEvents): "access_events", string(audit.KindConsents): "consent_events"}

// records compares every stored record with its leaf (see
// queries/proof/verify_records.sql), then looks for copies when the counts
// say there are some.
func (v *verifier) records(ctx context.Context) error {
	retained, err := v.drops(ctx)
	if err != nil {
		return err
	}
	q, err := v.sql("verify_records")
	if err != nil {
		return err
	}
	rs, err := v.o.Conn.Query(ctx, q, v.bounds()...)
	if err != nil {
		return fmt.Errorf("verify: compare records with their leaves: %w", err)
	}
	defer rs.Close()
	var leafOnly, recordOnly uint64
	inserted := map[string][]Finding{}
	for rs.Next() {
		var idx uint64
		var kind, key, leafBatch, recordBatch string
		var hasLeaf, hasRecord uint8
		if err := rs.Scan(&idx, &kind, &key, &leafBatch, &recordBatch, &hasLeaf, &hasRecord); err != nil {
			return fmt.Errorf("verify: compare records with their leaves: %w", err)
		}
		f := Finding{Table: tableOf[kind], Key: key, Batch: leafBatch, Leaf: idx, HasLeaf: hasLeaf == 1}
		switch {
		case hasLeaf == 1 && hasRecord == 1:
			f.Kind, f.Detail = Altered, "the stored record is not the one logged: a column was changed after it was stored"
			v.add(f)
		case hasLeaf == 1:
			leafOnly++
			if retained.covers(kind, idx) {
				v.res.Retained++
				continue
			}
			f.Kind, f.Detail = Deleted, "the logged record is no longer stored, and no sealed retention drop removed it"
			v.add(f)
		default:
			recordOnly++
			f.Kind, f.Batch = Inserted, recordBatch
			f.Detail = "the stored record has no leaf: it was written outside privaudit, or its leaf was removed"
			inserted[kind] = append(inserted[kind], f)
		}
	}
	if err := rs.Err(); err != nil {
		return fmt.Errorf("verify: compare records with their leaves: %w", err)
	}
	if err := v.inserted(ctx, inserted); err != nil {
		return err
	}
	return v.copies(ctx, leafOnly, recordOnly)
}

// bounds are the period's bind arguments.
func (v *verifier) bounds() []any {
	if !v.period() {
		return nil
	}
	to := v.o.To
	if to.IsZero() {
		to = time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC) // within DateTime's range
	}
	return []any{clickhouse.Named("from", v.o.From.UTC()), clickhouse.Named("to", to.UTC())}
}

// inserted reports the records found without a leaf, after a second look
// at them when RecheckAfter is set: a running writer appends a batch's
// leaves just after storing it.
func (v *verifier) inserted(ctx context.Context, found map[string][]Finding) error {
	if len(found) == 0 {
		return nil
	}
	if v.o.RecheckAfter > 0 {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(v.o.RecheckAfter):
		}
		q, err := v.sql("verify_has_leaf")
		if err != nil {
			return err
		}
		for kind, fs := range found {
			keys := make([]string, len(fs))
			for i, f := range fs {
				keys[i] = f.Key
			}
			leaved := map[string]bool{}
			rs, err := v.o.Conn.Query(ctx, q, clickhouse.Named("kind", kind), clickhouse.Named("keys", keys))
			if err != nil {
				return fmt.Errorf("verify: look again at records without a leaf: %w", err)
			}
			for rs.Next() {
				var k string
				if err := rs.Scan(&k); err != nil {
					rs.Close()
					return fmt.Errorf("verify: look again at records without a leaf: %w", err)
				}
				leaved[k] = true
			}
			rs.Close()
			found[kind] = slices.DeleteFunc(fs, func(f Finding) bool { return leaved[f.Key] })
		}
	}
	for _, kind := range []string{string(audit.KindEvents), string(audit.KindConsents)} {
		for _, f := range found[kind] {
			v.add(f)
		}
	}
	return nil
}

// copies looks for records stored or logged more than once, when the row
// counts disagree with the pairs the comparison found: every leaf row not
// gone pairs with exactly one record row, unless a record or leaf has a
// copy (an exact copy pairs without a difference).
func (v *verifier) copies(ctx context.Context, leafOnly, recordOnly uint64) error {
	q, err := v.sql("verify_counts")
	if err != nil {
		return err
	}
	var eventLeaves, events, consentLeaves, consents uint64
	if err := v.o.Conn.QueryRow(ctx, q, v.bounds()...).Scan(&eventLeaves, &events, &consentLeaves, &consents); err != nil {
		return fmt.Errorf("verify: count records and leaves: %w", err)
	}
	v.res.Records = events + consents
	if eventLeaves+consentLeaves-leafOnly == events+consents-recordOnly {
		return nil
	}
	if q, err = v.sql("verify_copies"); err != nil {
		return err
	}
	rs, err := v.o.Conn.Query(ctx, q, clickhouse.Named("limit", uint64(v.o.MaxListed)))
	if err != nil {
		return fmt.Errorf("verify: look for copies: %w", err)
	}
	defer rs.Close()
	for rs.Next() {
		var what, kind, key string
		var n uint64
		var batches []string
		var leaves []uint64
		if err := rs.Scan(&what, &kind, &key, &n, &batches, &leaves); err != nil {
			return fmt.Errorf("verify: look for copies: %w", err)
		}
		slices.Sort(batches)
		f := Finding{Kind: Copied, Table: tableOf[kind], Key: key, Detail: fmt.Sprintf("stored %d times (batches %v): a copy was inserted outside privaudit", n, batches)}
		if what == "leaf" {
			slices.Sort(leaves)
			f.Detail = fmt.Sprintf("logged %d times (leaves %v): leaves were inserted outside privaudit", n, leaves)
		}
		v.add(f)
	}
	return rs.Err()
}

// leafRuns are the leaf indexes of each kind that sealed retention drops
// removed.
type leafRuns map[string][]audit.LeafRange

func (r leafRuns) covers(kind string, idx uint64) bool {
	runs := r[kind]
	i, _ := slices.BinarySearchFunc(runs, idx, func(lr audit.LeafRange, x uint64) int { return cmp.Compare(lr.Last, x) })
	return i < len(runs) && runs[i].First <= idx && idx <= runs[i].Last
}

// drops reads the retention drops: the leaves of those whose seal holds
// are retention; each other one is a finding.
func (v *verifier) drops(ctx context.Context) (leafRuns, error) {
	runs := leafRuns{}
	if v.o.Drops == nil {
		return runs, nil
	}
	drops, err := v.o.Drops(ctx)
	if err != nil {
		return nil, fmt.Errorf("verify: read retention drops: %w", err)
	}
	kindOf := map[string]string{"access_events": string(audit.KindEvents), "consent_events": string(audit.KindConsents)}
	for _, d := range drops {
		if d.Problem != "" {
			v.add(Finding{Kind: DropUnsealed, Table: d.Table, Key: d.DropID, Detail: fmt.Sprintf("the drop of partition %s is not sealed: %s; the records it removed count as deleted", d.Partition, d.Problem)})
			continue
		}
		v.res.Drops = append(v.res.Drops, d)
		k := kindOf[d.Table]
		runs[k] = append(runs[k], d.Leaves...)
	}
	for k := range runs {
		slices.SortFunc(runs[k], func(a, b audit.LeafRange) int { return cmp.Compare(a.First, b.First) })
	}
	return runs, nil
}
