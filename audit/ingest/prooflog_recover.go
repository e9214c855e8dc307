package ingest

import (
	"cmp"
	"context"
	"fmt"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/privaudit/privaudit/audit"
)

// recoverChunk is how many leaves recovery appends at a time.
const recoverChunk = 100_000

// recoverSettings let ClickHouse sort the records without a leaf on disk:
// after sealing is switched on over a full table, that is all of them.
var recoverSettings = clickhouse.Settings{"max_bytes_before_external_sort": 1 << 30}

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

func scanUnleavedEvent(rs driver.Rows, enc *[]byte) (logLeaf, error) {
	var e audit.StoredEvent
	if err := rs.ScanStruct(&e); err != nil {
		return logLeaf{}, err
	}
	*enc = e.AppendLeaf((*enc)[:0])
	return logLeaf{audit.KindEvents, e.EventID, audit.LeafHash(*enc), e.BatchID, e.IngestSeq}, nil
}

func scanUnleavedConsent(rs driver.Rows, enc *[]byte) (logLeaf, error) {
	var c audit.StoredConsent
	if err := rs.ScanStruct(&c); err != nil {
		return logLeaf{}, err
	}
	*enc = c.AppendLeaf((*enc)[:0])
	return logLeaf{audit.KindConsents, c.ConsentEventID, audit.LeafHash(*enc), c.BatchID, c.IngestSeq}, nil
}

// appendUnleaved appends a leaf for every stored record without one,
// merging the two kinds' streams in the recovery order (ingest_seq, kind,
// key), recoverChunk at a time, so memory stays flat however many there
// are. It returns how many it appended.
func (l *ProofLog) appendUnleaved(ctx context.Context) (int, error) {
	ctx = clickhouse.Context(ctx, clickhouse.WithSettings(recoverSettings))
	var curs [2]*unleavedCursor
	for i, q := range []struct {
		sql, what string
		scan      func(driver.Rows, *[]byte) (logLeaf, error)
	}{{l.sql.unleavedEvents, "events", scanUnleavedEvent}, {l.sql.unleavedConsents, "consents", scanUnleavedConsent}} {
		rs, err := l.conn.Query(ctx, q.sql)
		if err != nil {
			return 0, fmt.Errorf("read %s without a leaf: %w", q.what, err)
		}
		defer rs.Close()
		curs[i] = &unleavedCursor{rows: rs, scan: q.scan}
		if err := curs[i].advance(); err != nil {
			return 0, fmt.Errorf("read %s without a leaf: %w", q.what, err)
		}
	}
	n := 0
	chunk := make([]logLeaf, 0, recoverChunk)
	flush := func() error {
		if len(chunk) == 0 {
			return nil
		}
		err := l.appendLocked(ctx, chunk)
		n, chunk = n+len(chunk), chunk[:0]
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
			return n, fmt.Errorf("read records without a leaf: %w", err)
		}
		if len(chunk) == recoverChunk {
			if err := flush(); err != nil {
				return n, err
			}
		}
	}
	return n, flush()
}
