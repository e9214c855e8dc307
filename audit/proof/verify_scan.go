package proof

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/transparency-dev/merkle/rfc6962"

	"github.com/privaudit/privaudit/audit"
	"github.com/privaudit/privaudit/audit/chwire"
	"github.com/privaudit/privaudit/queries"
)

// The digest of the stored records (see verify_digest.go) is computed in
// Go: each record table is read whole over the native protocol
// (audit/chwire, queries/proof/verify_scan_*.sql), and each row's leaf hash
// recomputed from its columns while the next block arrives. ClickHouse
// 18.16 took four times as long to build the encodings in SQL.

// hashers is how many goroutines hash the rows of the blocks read, and
// scanBlocks how many blocks are in flight between the reader of a table
// and them.
var hashers = runtime.GOMAXPROCS(0)

func scanBlocks() int { return hashers + 2 }

// recordTables are the record tables, each with its scan statement.
var recordTables = []struct{ query, table string }{
	{"verify_scan_events", "access_events"},
	{"verify_scan_consents", "consent_events"},
}

// recordDigest computes the stored records' digest, over the records of
// the batches logged up to the snapshot; it counts the others as later.
func (v *verifier) recordDigest(ctx context.Context) (recordDigest, error) {
	var r recordDigest
	logged, err := v.loggedBatches(ctx)
	if err != nil {
		return r, err
	}
	parts := make([]recordDigest, hashers) // one per hasher, summed at the end
	terms := make([]*keyed, hashers)
	for i := range terms {
		terms[i] = v.key.keyed()
	}
	for _, t := range recordTables {
		if err := v.scanTable(ctx, t.query, t.table, func(h int, b *chwire.Block, enc *leafEncoder) error {
			return digestBlock(b, enc, logged, terms[h], &parts[h])
		}); err != nil {
			return r, err
		}
	}
	for _, p := range parts {
		r.records.merge(p.records)
		r.later += p.later
	}
	return r, nil
}

// loggedBatches are the batches with a leaf up to the snapshot.
func (v *verifier) loggedBatches(ctx context.Context) (map[string]struct{}, error) {
	q, err := queries.Proof("verify_logged_batches", v.o.Schema)
	if err != nil {
		return nil, err
	}
	rs, err := v.o.Conn.Query(ctx, q, clickhouse.Named("last", v.snap.last))
	if err != nil {
		return nil, fmt.Errorf("verify: read the logged batches: %w", err)
	}
	defer rs.Close()
	logged := map[string]struct{}{}
	for rs.Next() {
		var b string
		if err := rs.Scan(&b); err != nil {
			return nil, fmt.Errorf("verify: read the logged batches: %w", err)
		}
		logged[b] = struct{}{}
	}
	return logged, rs.Err()
}

// digestBlock adds the rows of b of a logged batch to r's digest, and
// counts the others as later.
func digestBlock(b *chwire.Block, enc *leafEncoder, logged map[string]struct{}, terms *keyed, r *recordDigest) error {
	batch := b.Index("batch_id")
	if batch < 0 {
		return errors.New("verify: the stored records read have no batch_id column")
	}
	if err := encodable(b); err != nil {
		return err
	}
	for row := range b.Rows {
		if _, ok := logged[string(b.Columns[batch].Bytes(row))]; !ok {
			r.later++
			continue
		}
		h := enc.leaf(b, row)
		r.records.add(termsOf(terms, h[:]))
	}
	return nil
}

// scanTable reads every row of table with the statement query, calling
// each with every block, from one of the hashers goroutines (h is which),
// while the next blocks are read.
func (v *verifier) scanTable(ctx context.Context, query, table string, each func(h int, b *chwire.Block, enc *leafEncoder) error) error {
	q, err := queries.Proof(query, v.o.Schema)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	rd, err := chwire.Query(ctx, v.o.Scan, q)
	if err != nil {
		return fmt.Errorf("verify: read %s: %w", table, err)
	}
	defer rd.Close()
	free, full := make(chan *chwire.Block, scanBlocks()), make(chan *chwire.Block, scanBlocks())
	for range scanBlocks() {
		free <- new(chwire.Block)
	}
	var readErr error
	go func() {
		defer close(full)
		for b := range free {
			ok, err := rd.Next(b)
			if err != nil || !ok {
				readErr = err
				return
			}
			full <- b
		}
	}()
	var wg sync.WaitGroup
	failed := make([]error, hashers)
	var rows atomic.Uint64
	for h := range hashers {
		wg.Go(func() {
			enc := newLeafEncoder(table)
			for b := range full {
				if failed[h] == nil {
					if failed[h] = each(h, b, enc); failed[h] != nil {
						cancel()
					}
				}
				n := uint64(b.Rows)
				if r := rows.Add(n); r/progressEvery != (r-n)/progressEvery {
					v.o.Logger.Info("verify: stored records read and hashed so far", "table", table, "records", r)
				}
				free <- b
			}
		})
	}
	wg.Wait()
	if err := errors.Join(failed...); err != nil {
		return err
	}
	if readErr != nil {
		return fmt.Errorf("verify: read %s: %w", table, readErr)
	}
	return nil
}

// leafEncoder recomputes a stored record's leaf hash from a block's
// columns. The canonical encoding (see audit.StoredEvent) takes every
// column in the table's order and encodes each by its type alone, so one
// rule per type encodes either table; TestLeafHashSQLAgrees holds it to
// audit's AppendLeaf. A leafEncoder is not safe for concurrent use.
type leafEncoder struct{ header, buf []byte }

func newLeafEncoder(table string) *leafEncoder {
	return &leafEncoder{header: audit.AppendLeafHeader([]byte{rfc6962.RFC6962LeafHashPrefix}, table)}
}

// encodable checks that the canonical encoding has a rule for the type of
// every column of b.
func encodable(b *chwire.Block) error {
	for i := range b.Columns {
		if k := b.Columns[i].Kind; k != chwire.String && k != chwire.Strings && k != chwire.Fixed {
			return fmt.Errorf("verify: column %s of the stored records has type %s, which the leaf encoding has no rule for", b.Columns[i].Name, b.Columns[i].Type)
		}
	}
	return nil
}

// leaf is the leaf hash of row of b (see encodable).
func (e *leafEncoder) leaf(b *chwire.Block, row int) [sha256.Size]byte {
	buf := append(e.buf[:0], e.header...)
	for i := range b.Columns {
		c := &b.Columns[i]
		switch c.Kind {
		case chwire.String:
			buf = audit.AppendLeafString(buf, c.Bytes(row))
		case chwire.Strings:
			from, to := c.Elems(row)
			buf = audit.AppendLeafCount(buf, to-from)
			for k := from; k < to; k++ {
				buf = audit.AppendLeafString(buf, c.Bytes(k))
			}
		case chwire.Fixed: // little-endian as stored; the encoding is big-endian
			v := c.Fixed(row)
			for k := len(v) - 1; k >= 0; k-- {
				buf = append(buf, v[k])
			}
		}
	}
	e.buf = buf
	return sha256.Sum256(buf)
}
