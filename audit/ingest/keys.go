package ingest

import (
	"context"
	"fmt"
	"sync"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/ext"
)

// claims are the keys held by batches being inserted right now. A batch
// claims its keys before looking up which are already stored and releases
// them only after its insert finished, so two concurrent batches never both
// store one key: the second either sees the claim or, after its release,
// finds the key stored.
type claims struct {
	mu   sync.Mutex
	keys map[string]struct{}
}

func (c *claims) release(ks []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, k := range ks {
		delete(c.keys, k)
	}
}

// newKeys marks which records of buf to insert: the first of each key in the
// batch, unless another batch in flight holds it or it is already stored.
// Call release once the insert has finished (or failed).
func (w *Writer) newKeys(ctx context.Context, buf rows) (keep []bool, release func(), err error) {
	n := buf.len()
	keep = make([]bool, n)
	var held []string
	release = func() { w.claims.release(held) }
	tbl, err := ext.NewTable("batch_keys", ext.Column("id", "String"))
	if err != nil {
		return nil, release, err
	}
	w.claims.mu.Lock()
	if w.claims.keys == nil {
		w.claims.keys = map[string]struct{}{}
	}
	for i := 0; i < n; i++ {
		k := buf.key(i)
		if _, taken := w.claims.keys[k]; taken {
			continue // repeated in this batch, or held by another one
		}
		w.claims.keys[k] = struct{}{}
		held = append(held, k)
		keep[i] = true
	}
	w.claims.mu.Unlock()
	for _, k := range held {
		if err := tbl.Append(k); err != nil {
			return nil, release, fmt.Errorf("key table: %w", err)
		}
	}
	stored, err := w.storedKeys(ctx, tbl)
	if err != nil {
		return nil, release, err
	}
	if len(stored) > 0 {
		for i := 0; i < n; i++ {
			if _, ok := stored[buf.key(i)]; ok {
				keep[i] = false
			}
		}
	}
	return keep, release, nil
}

// storedKeys returns which keys of the external table are already stored.
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
