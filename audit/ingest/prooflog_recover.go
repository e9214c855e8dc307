package ingest

import (
	"context"
	"fmt"
	"slices"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/privaudit/privaudit/audit"
)

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

// sealStored appends a leaf, read as stored, for each record of keys
// (records of kind a replayed batch found already stored) that has none: a
// crash or a failed append between a batch's insert and its append left
// it so. Only records privaudit accepted are replayed, so a record written
// into ClickHouse by anything else never gets a leaf here, nor does one
// whose stored row is not one replayed: replayed reports whether a
// replayed copy of key, stamped with the row's ingest_seq and batch, has
// the row's leaf. A row that fails it was changed since it was stored,
// and verify names it, as it names rows written by anything else. It
// returns how many leaves it appended.
func (l *ProofLog) sealStored(ctx context.Context, kind audit.Kind, keys []string,
	replayed func(key string, seq uint64, batchID string, leaf []byte) bool) (n int, err error) {
	end := l.begin()
	defer func() { end(err) }()
	q, scan := l.sql.unleavedEvents, scanUnleavedEvent
	if kind == audit.KindConsents {
		q, scan = l.sql.unleavedConsents, scanUnleavedConsent
	}
	var leaves []logLeaf
	var enc []byte
	err = queryIDs(ctx, l.conn, q, keys, func(rs driver.Rows) error {
		lf, err := scan(rs, &enc)
		leaves = append(leaves, lf)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("proof log: read stored %s without a leaf: %w", kind, err)
	}
	leaves = slices.CompactFunc(leaves, func(a, b logLeaf) bool { return a.key == b.key })
	before := len(leaves)
	leaves = slices.DeleteFunc(leaves, func(lf logLeaf) bool { return !replayed(lf.key, lf.seq, lf.batchID, lf.hash) })
	if changed := before - len(leaves); changed > 0 {
		l.log.Error("proof log: replayed records differ from their stored rows, which were changed since they were stored; they stay without a leaf: run privaudit verify", "kind", kind, "records", changed)
	}
	if len(leaves) == 0 {
		return 0, nil
	}
	if err := l.append(ctx, leaves); err != nil {
		return 0, err
	}
	l.log.Warn("proof log: appended leaves of replayed records stored without one", "kind", kind, "records", len(leaves))
	return len(leaves), nil
}
