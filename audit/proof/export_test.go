package proof

import (
	"context"
	"sync"

	"github.com/privaudit/privaudit/audit/chwire"
)

// ErrUnordered is errUnordered, for tests.
var ErrUnordered = errUnordered

// Digester runs verify's passes over the leaves up to a snapshot a test
// chooses, for tests.
type Digester struct{ v *verifier }

// NewDigester is a verifier of the leaf rows [0, last] (rows of them).
func NewDigester(o Options, rows, last uint64) *Digester {
	return &Digester{v: &verifier{o: o, res: &Result{Counts: map[FindingKind]uint64{}},
		snap: snapshot{rows: rows, last: last}, key: newDigestKey(), retained: leafRuns{}, digest: true}}
}

// Result is what the passes found so far.
func (d *Digester) Result() *Result { return d.v.res }

// FoldStoredOrder reads the leaves once in stored order.
func (d *Digester) FoldStoredOrder(ctx context.Context) error {
	_, err := d.v.fold(ctx, nil, false)
	return err
}

// Holds runs the tree pass and the digest of the records, and reports
// whether the digest holds, and the records left for a later run.
func (d *Digester) Holds(ctx context.Context) (holds bool, later uint64, err error) {
	t, err := d.v.tree(ctx, nil)
	if err != nil {
		return false, 0, err
	}
	r, err := d.v.recordDigest(ctx)
	if err != nil {
		return false, 0, err
	}
	holds, err = d.v.digestHolds(ctx, &t, r)
	return holds, r.later, err
}

// ScanLeafHashes is the leaf hash of every stored record as the digest
// pass recomputes it from a scan, by table and key ("access_events/e-1").
func ScanLeafHashes(ctx context.Context, o Options) (map[string][32]byte, error) {
	v := &verifier{o: o, res: &Result{Counts: map[FindingKind]uint64{}}}
	out := map[string][32]byte{}
	var mu sync.Mutex
	for _, t := range recordTables {
		err := v.scanTable(ctx, t.query, t.table, func(_ int, b *chwire.Block, enc *leafEncoder) error {
			if err := encodable(b); err != nil {
				return err
			}
			mu.Lock()
			defer mu.Unlock()
			for r := range b.Rows {
				out[t.table+"/"+string(b.Columns[0].Bytes(r))] = enc.leaf(b, r)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}
