package ingest

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/ext"
)

// claims are the keys held by batches being inserted right now, one set
// per batch. A batch claims its keys before looking up which are already
// stored and releases them only after its insert finished, so two
// concurrent batches never both store one key: the second either sees the
// claim or, after its release, finds the key stored.
type claims struct {
	mu   sync.Mutex
	sets []*claimSet
	free []*claimSet // released sets, reused with their memory
}

// claimSet is one batch's claimed keys, with the keep marks claim returns,
// reused from batch to batch.
type claimSet struct {
	keys  []string
	index keySet // of keys
	keep  []bool
}

// find returns the slot of s's index holding key k, whose hashKey is h,
// or the empty slot where it belongs.
func (s *claimSet) find(h uint64, k string) uint64 {
	return s.index.find(h, func(i int32) bool { return s.keys[i] == k })
}

// claim returns which keys the batch may insert — the first of each key,
// unless another batch in flight holds it — and the claimed keys. Both are
// valid, and the keys must stay unchanged, until release is called, once
// the insert has finished (or failed).
func (c *claims) claim(keys []string) (keep []bool, held []string, release func()) {
	c.mu.Lock()
	defer c.mu.Unlock()
	own := c.take(len(keys))
next:
	for i, k := range keys {
		h := hashKey(k)
		for _, other := range c.sets {
			if other.index.slots[other.find(h, k)] != 0 {
				continue next
			}
		}
		slot := own.find(h, k)
		if own.index.slots[slot] != 0 {
			continue // repeated in this batch
		}
		own.index.slots[slot] = int32(len(own.keys)) + 1
		own.keys = append(own.keys, k)
		own.keep[i] = true
	}
	c.sets = append(c.sets, own)
	return own.keep, own.keys, func() { c.release(own) }
}

// take returns an empty set for n keys, a released one if there is one.
func (c *claims) take(n int) *claimSet {
	set := &claimSet{}
	if k := len(c.free); k > 0 {
		set, c.free = c.free[k-1], c.free[:k-1]
	}
	set.index.reset(n)
	set.keep = slices.Grow(set.keep[:0], n)[:n]
	clear(set.keep)
	set.keys = slices.Grow(set.keys[:0], n)
	return set
}

func (c *claims) release(set *claimSet) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sets = slices.DeleteFunc(c.sets, func(s *claimSet) bool { return s == set })
	clear(set.keys) // drop the keys' memory
	c.free = append(c.free, set)
}

// newKeys marks which of a batch's records to insert, given their keys in
// order: the first of each key in the batch, unless another batch in flight
// holds it or it is already stored. Keys the filter does not hold are new;
// the others are looked up in the key table by their hashes; found lists
// the keys found stored. Call release once the insert has finished (or
// failed).
func (w *Writer) newKeys(ctx context.Context, keys []string) (keep []bool, found []string, release func(), err error) {
	keep, held, release := w.claims.claim(keys)
	if len(held) == 0 {
		return keep, nil, release, nil
	}
	candidates := w.filterAdd(held)
	if len(candidates) == 0 {
		return keep, nil, release, nil
	}
	tbl, err := ext.NewTable("batch_keys", ext.Column("key", "UInt64"))
	if err != nil {
		return nil, nil, release, err
	}
	if _, err := tbl.Block().Columns[0].Append(candidates); err != nil {
		return nil, nil, release, fmt.Errorf("key table: %w", err)
	}
	stored, err := w.storedKeys(ctx, tbl)
	if err != nil {
		return nil, nil, release, err
	}
	w.o.Metrics.keyLookups.WithLabelValues(string(w.o.Kind)).Add(float64(len(candidates)))
	if len(stored) > 0 {
		for i, k := range keys {
			if _, ok := stored[k]; ok && keep[i] {
				keep[i] = false
				found = append(found, strings.Clone(k))
			}
		}
	}
	return keep, found, release, nil
}

// filterAdd adds the keys' hashes to the filter and returns those of the
// keys it may have held already: the candidates for a lookup.
func (w *Writer) filterAdd(keys []string) []uint64 {
	w.filterMu.Lock()
	defer w.filterMu.Unlock()
	var candidates []uint64
	for _, k := range keys {
		if h := keyHash(k); w.filter.Add(h) {
			candidates = append(candidates, h)
		}
	}
	return candidates
}

// loadFilter builds the filter from the hashes of every stored key. It runs
// once, before the first batch; until it succeeds nothing is written.
func (w *Writer) loadFilter(ctx context.Context) error {
	if w.filter != nil {
		return nil
	}
	start := time.Now()
	var n uint64
	if err := w.o.Conn.QueryRow(ctx, w.countSQL).Scan(&n); err != nil {
		return fmt.Errorf("count stored keys: %w", err)
	}
	// Nothing is written until the filter is loaded: say why writes wait.
	w.o.Logger.Info("loading key filter; records wait in the spool until it is loaded", "keys", n)
	f := newKeyFilter(2 * int(n))
	rs, err := w.o.Conn.Query(ctx, w.loadSQL)
	if err != nil {
		return fmt.Errorf("load stored keys: %w", err)
	}
	defer rs.Close()
	for rs.Next() {
		var h uint64
		if err := rs.Scan(&h); err != nil {
			return fmt.Errorf("load stored keys: %w", err)
		}
		f.Add(h)
	}
	if err := rs.Err(); err != nil {
		return fmt.Errorf("load stored keys: %w", err)
	}
	w.filterMu.Lock()
	w.filter = f
	w.filterMu.Unlock()
	w.o.Logger.Info("key filter loaded", "keys", f.Len(), "bytes", f.Bytes(), "took", time.Since(start).Round(time.Millisecond))
	return nil
}

// storedKeys returns which keys with the external table's hashes are stored.
func (w *Writer) storedKeys(ctx context.Context, tbl *ext.Table) (map[string]struct{}, error) {
	rs, err := w.o.Conn.Query(clickhouse.Context(ctx, clickhouse.WithExternalTable(tbl)), w.existingSQL)
	if err != nil {
		return nil, fmt.Errorf("look up stored keys: %w", err)
	}
	defer rs.Close()
	stored := map[string]struct{}{}
	for rs.Next() {
		var k string
		if err := rs.Scan(&k); err != nil {
			return nil, fmt.Errorf("look up stored keys: %w", err)
		}
		stored[k] = struct{}{}
	}
	if err := rs.Err(); err != nil {
		return nil, fmt.Errorf("look up stored keys: %w", err)
	}
	return stored, nil
}

// filterLoaded reports whether loadFilter has succeeded.
func (w *Writer) filterLoaded() bool {
	w.filterMu.Lock()
	defer w.filterMu.Unlock()
	return w.filter != nil
}
