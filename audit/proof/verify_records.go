package proof

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/privaudit/privaudit/audit"
)

// tableOf is the table of a leaf kind.
var tableOf = map[string]string{string(audit.KindEvents): "access_events", string(audit.KindConsents): "consent_events"}

// pending is a record finding before it is named: k is verify_records'
// hash of the record's kind and key.
type pending struct {
	k        uint64
	f        Finding
	leaves   uint64
	records  uint64
	consents bool
}

// records compares every stored record with its leaf (see
// queries/proof/verify_records.sql), counts every finding, and names the
// first MaxListed.
func (v *verifier) records(ctx context.Context) error {
	retained := v.retained
	q, err := v.sql("verify_records")
	if err != nil {
		return err
	}
	v.o.Logger.Info("verify: recomputing every stored record's leaf and comparing it with its own, in one pass in ClickHouse, the longest step")
	rs, err := v.o.Conn.Query(ctx, q, v.bounds()...)
	if err != nil {
		return fmt.Errorf("verify: compare records with their leaves: %w", err)
	}
	defer rs.Close()
	var found, inserted []pending
	for rs.Next() {
		var p pending
		var consents uint8
		if err := rs.Scan(&p.k, &consents, &p.leaves, &p.records, &p.f.Leaf); err != nil {
			return fmt.Errorf("verify: compare records with their leaves: %w", err)
		}
		p.consents = consents == 1
		kind := string(audit.KindEvents)
		if p.consents {
			kind = string(audit.KindConsents)
		}
		p.f.Table, p.f.HasLeaf = tableOf[kind], p.leaves > 0
		switch {
		case p.leaves > 1 || p.records > 1:
			p.f.Kind = Copied
		case p.records == 1 && p.leaves == 1:
			p.f.Kind, p.f.Detail = Altered, "the stored record is not the one logged: a column was changed after it was stored"
		case p.leaves == 1:
			if retained.covers(kind, p.f.Leaf) {
				v.res.Retained++
				continue
			}
			p.f.Kind, p.f.Detail = Deleted, "the logged record is no longer stored, and no sealed retention drop removed it"
		default:
			p.f.Kind, p.f.Detail = Inserted, "the stored record has no leaf: it was written outside privaudit, or its leaf was removed"
			if len(inserted) < maxRecheck {
				inserted = append(inserted, p)
				continue
			}
		}
		found = v.count(found, p)
	}
	if err := rs.Err(); err != nil {
		return fmt.Errorf("verify: compare records with their leaves: %w", err)
	}
	if inserted, err = v.recheck(ctx, inserted); err != nil {
		return err
	}
	for _, p := range inserted {
		found = v.count(found, p)
	}
	if err := v.name(ctx, found); err != nil {
		return err
	}
	return v.countRecords(ctx)
}

// maxRecheck caps the records without a leaf that get a second look.
const maxRecheck = 100_000

// count counts p's finding and keeps it to be named while fewer than
// MaxListed are kept.
func (v *verifier) count(found []pending, p pending) []pending {
	v.res.Counts[p.f.Kind]++
	if len(found) < v.o.MaxListed {
		found = append(found, p)
	}
	return found
}

// countRecords sets Result.Records.
func (v *verifier) countRecords(ctx context.Context) error {
	q, err := v.sql("verify_counts")
	if err != nil {
		return err
	}
	var events, consents uint64
	if err := v.o.Conn.QueryRow(ctx, q, v.bounds()...).Scan(&events, &consents); err != nil {
		return fmt.Errorf("verify: count the stored records: %w", err)
	}
	v.res.Records = events + consents
	return nil
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

// recheck drops the records found without a leaf that have one after
// RecheckAfter: a running writer appends a batch's leaves just after
// storing it.
func (v *verifier) recheck(ctx context.Context, found []pending) ([]pending, error) {
	if len(found) == 0 || v.o.RecheckAfter <= 0 {
		return found, nil
	}
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-time.After(v.o.RecheckAfter):
	}
	q, err := v.sql("verify_has_leaf")
	if err != nil {
		return nil, err
	}
	leaved := map[uint64]bool{}
	err = v.byK(ctx, q, keysOf(found), func(rs driver.Rows) error {
		var k uint64
		err := rs.Scan(&k)
		leaved[k] = true
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("verify: look again at records without a leaf: %w", err)
	}
	return slices.DeleteFunc(found, func(p pending) bool { return leaved[p.k] }), nil
}

// name fills in the key, batch and leaf of each finding kept, reading
// them by k, and lists them in a stable order.
func (v *verifier) name(ctx context.Context, found []pending) error {
	if len(found) == 0 {
		return nil
	}
	q, err := v.sql("verify_names")
	if err != nil {
		return err
	}
	leafSide, recordSide := map[uint64]*nameSide{}, map[uint64]*nameSide{}
	err = v.byK(ctx, q, keysOf(found), func(rs driver.Rows) error {
		var which, kind, key, batch string
		var k, idx uint64
		if err := rs.Scan(&which, &k, &kind, &key, &idx, &batch); err != nil {
			return err
		}
		m := recordSide
		if which == "leaf" {
			m = leafSide
		}
		s := m[k]
		if s == nil {
			s = &nameSide{key: key}
			m[k] = s
		}
		s.batches, s.leaves = append(s.batches, batch), append(s.leaves, idx)
		return nil
	})
	if err != nil {
		return fmt.Errorf("verify: name the findings: %w", err)
	}
	out := make([]Finding, 0, len(found))
	for _, p := range found {
		f, l, r := p.f, leafSide[p.k], recordSide[p.k]
		switch {
		case l != nil:
			f.Key, f.Batch = l.key, l.batches[0]
		case r != nil:
			f.Key, f.Batch = r.key, r.batches[0]
		}
		if f.Kind == Copied {
			f.Detail = copiedDetail(p, l, r)
		}
		out = append(out, f)
	}
	slices.SortStableFunc(out, func(a, b Finding) int {
		return cmp.Or(cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.Table, b.Table), cmp.Compare(a.Leaf, b.Leaf), cmp.Compare(a.Key, b.Key))
	})
	v.res.Findings = append(v.res.Findings, out[:min(len(out), v.o.MaxListed-len(v.res.Findings))]...)
	return nil
}

// keysOf lists the findings' k.
func keysOf(found []pending) []uint64 {
	ks := make([]uint64, len(found))
	for i, p := range found {
		ks[i] = p.k
	}
	return ks
}

// byKChunk bounds the keys bound into one statement (@ks), so the query
// stays well under ClickHouse's max_query_size however many are listed.
const byKChunk = 1000

// byK runs q with @ks bound to ks, byKChunk at a time, calling row for each
// row.
func (v *verifier) byK(ctx context.Context, q string, ks []uint64, row func(driver.Rows) error) error {
	for lo := 0; lo < len(ks); lo += byKChunk {
		rs, err := v.o.Conn.Query(ctx, q, clickhouse.Named("ks", ks[lo:min(lo+byKChunk, len(ks))]))
		if err != nil {
			return err
		}
		for rs.Next() {
			if err := row(rs); err != nil {
				rs.Close()
				return err
			}
		}
		rs.Close()
		if err := rs.Err(); err != nil {
			return err
		}
	}
	return nil
}

// nameSide is what the naming step read of one side of a finding.
type nameSide struct {
	key     string
	batches []string
	leaves  []uint64
}

// copiedDetail says how a record was stored or logged more than once.
func copiedDetail(p pending, l, r *nameSide) string {
	if p.leaves > 1 && l != nil {
		slices.Sort(l.leaves)
		return fmt.Sprintf("logged %d times (leaves %v): leaves were inserted outside privaudit", p.leaves, l.leaves)
	}
	var batches []string
	if r != nil {
		batches = slices.Compact(slices.Sorted(slices.Values(r.batches)))
	}
	return fmt.Sprintf("stored %d times (batches %v): a copy was inserted outside privaudit", p.records, batches)
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
