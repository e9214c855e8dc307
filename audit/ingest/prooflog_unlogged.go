package ingest

import (
	"cmp"
	"context"
	"fmt"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// unloggedChunk is how many leaves SealUnlogged appends at a time.
const unloggedChunk = 100_000

// unloggedSettings let ClickHouse sort the records without a leaf on disk:
// when sealing is switched on over a full table, that is all of them.
var unloggedSettings = clickhouse.Settings{"max_bytes_before_external_sort": 1 << 30}

// unleavedCursor streams the stored records of one kind without a leaf, in
// the recovery order (ingest_seq, key).
type unleavedCursor struct {
	rows driver.Rows
	next logLeaf
	ok   bool
	scan func(driver.Rows, *[]byte) (logLeaf, error)
	enc  []byte
}

func (c *unleavedCursor) advance() error {
	if c.ok = c.rows.Next(); !c.ok {
		return c.rows.Err()
	}
	var err error
	c.next, err = c.scan(c.rows, &c.enc)
	return err
}

// SealUnlogged appends a leaf, read as stored, for every stored record
// that has none: records stored while sealing was off, or before the proof
// log existed (privaudit seal-stored). It is an attestation, so it never
// runs by itself: a record written into ClickHouse by anything but
// privaudit has no leaf either, and verify names it until someone seals
// it here. The two kinds' streams are merged in the recovery order
// (ingest_seq, kind, key), unloggedChunk at a time, so memory stays flat
// however many there are. It returns how many leaves it appended; no
// writer may run meanwhile (the caller holds the writer lease).
func (l *ProofLog) SealUnlogged(ctx context.Context) (int, error) {
	if err := l.Ready(ctx); err != nil {
		return 0, err
	}
	l.gate.Lock()
	defer l.gate.Unlock()
	l.mu.Lock()
	defer l.mu.Unlock()
	ctx = clickhouse.Context(ctx, clickhouse.WithSettings(unloggedSettings))
	var curs [2]*unleavedCursor
	for i, q := range []struct {
		sql, what string
		scan      func(driver.Rows, *[]byte) (logLeaf, error)
	}{{l.sql.unloggedEvents, "events", scanUnleavedEvent}, {l.sql.unloggedConsents, "consents", scanUnleavedConsent}} {
		rs, err := l.conn.Query(ctx, q.sql)
		if err != nil {
			return 0, fmt.Errorf("proof log: read stored %s without a leaf: %w", q.what, err)
		}
		defer rs.Close()
		curs[i] = &unleavedCursor{rows: rs, scan: q.scan}
		if err := curs[i].advance(); err != nil {
			return 0, fmt.Errorf("proof log: read stored %s without a leaf: %w", q.what, err)
		}
	}
	n := 0
	chunk := make([]logLeaf, 0, min(unloggedChunk, 1024))
	flush := func() error {
		if len(chunk) == 0 {
			return nil
		}
		err := l.appendLocked(ctx, chunk)
		if err == nil {
			n += len(chunk)
			l.log.Info("proof log: sealed stored records without a leaf", "records", n)
		}
		chunk = chunk[:0]
		return err
	}
	for curs[0].ok || curs[1].ok {
		c := curs[0]
		if !c.ok || curs[1].ok && cmp.Or(cmp.Compare(curs[1].next.seq, c.next.seq), cmp.Compare(curs[1].next.kind, c.next.kind),
			cmp.Compare(curs[1].next.key, c.next.key)) < 0 {
			c = curs[1]
		}
		chunk = append(chunk, c.next)
		if err := c.advance(); err != nil {
			return n, fmt.Errorf("proof log: read stored records without a leaf: %w", err)
		}
		if len(chunk) == unloggedChunk {
			if err := flush(); err != nil {
				return n, err
			}
		}
	}
	return n, flush()
}
