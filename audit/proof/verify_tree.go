package proof

import (
	"bytes"
	"cmp"
	"context"
	"encoding/hex"
	"fmt"
	"slices"
	"time"

	"github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/rfc6962"

	"github.com/privaudit/privaudit/audit"
)

// progressEvery is how many leaves pass between progress lines.
const progressEvery = 1_000_000

// expectation is a root the tree must have at a size: a checkpoint's.
type expectation struct {
	size   uint64
	root   []byte
	source string
}

// checkpoints checks every stored checkpoint's signature and returns the
// roots of those that verify.
func (v *verifier) checkpoints(ctx context.Context) ([]expectation, error) {
	q, err := v.sql("verify_checkpoints")
	if err != nil {
		return nil, err
	}
	rs, err := v.o.Conn.Query(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("verify: read checkpoints: %w", err)
	}
	defer rs.Close()
	var out []expectation
	for rs.Next() {
		var size uint64
		var root, signed string
		var at time.Time
		if err := rs.Scan(&size, &root, &signed, &at); err != nil {
			return nil, fmt.Errorf("verify: read checkpoints: %w", err)
		}
		v.res.Checkpoints++
		name := fmt.Sprintf("stored checkpoint %d", size)
		cp, err := audit.OpenCheckpoint([]byte(signed), v.o.Verifier)
		if err != nil {
			v.add(Finding{Kind: CheckpointForged, Key: name, Detail: fmt.Sprintf("%v (verifier key %s)", err, v.o.Verifier.Name())})
			continue
		}
		if cp.Size != size || hex.EncodeToString(cp.Root) != root {
			v.add(Finding{Kind: CheckpointForged, Key: name, Detail: fmt.Sprintf("its columns (size %d, root %s) are not what its signed note says (size %d, root %x)", size, root, cp.Size, cp.Root)})
			continue
		}
		out = append(out, expectation{size: cp.Size, root: cp.Root, source: name})
		if v.res.Latest == nil || cp.Size >= v.res.Latest.Size {
			v.res.Latest, v.res.LatestSignedAt = &cp, at
		}
	}
	return out, rs.Err()
}

// externals checks the checkpoints held outside ClickHouse: each must
// verify and be stored.
func (v *verifier) externals(stored []expectation) []expectation {
	var out []expectation
	for _, e := range v.o.External {
		v.res.Externals++
		cp, err := audit.OpenCheckpoint(e.Note, v.o.Verifier)
		if err != nil {
			v.add(Finding{Kind: CheckpointForged, Key: e.Name, Detail: fmt.Sprintf("%v (verifier key %s): if the proof key was replaced, the log since may have been rewritten", err, v.o.Verifier.Name())})
			continue
		}
		if !slices.ContainsFunc(stored, func(s expectation) bool { return s.size == cp.Size && bytes.Equal(s.root, cp.Root) }) {
			v.add(Finding{Kind: CheckpointMissing, Key: e.Name, Detail: fmt.Sprintf("checkpoint %d is not in log_checkpoints: it was removed or replaced", cp.Size)})
		}
		out = append(out, expectation{size: cp.Size, root: cp.Root, source: e.Name})
	}
	return out
}

// tree rebuilds the tree from the stored leaves, in index order, and
// compares its root with each expectation at its size.
func (v *verifier) tree(ctx context.Context, want []expectation) error {
	slices.SortStableFunc(want, func(a, b expectation) int { return cmp.Compare(a.size, b.size) })
	for len(want) > 0 && want[0].size == 0 {
		want = want[1:]
	}
	v.o.Logger.Info("verify: rebuilding the tree from the stored leaves", "checkpoints", len(want))
	q, err := v.sql("verify_leaves")
	if err != nil {
		return err
	}
	rs, err := v.o.Conn.Query(ctx, q)
	if err != nil {
		return fmt.Errorf("verify: read leaves: %w", err)
	}
	defer rs.Close()
	rng := (&compact.RangeFactory{Hash: rfc6962.DefaultHasher.HashChildren}).NewEmptyRange(0)
	var next uint64 // the index the tree needs next
	broken := false // a leaf is missing: the tree cannot be rebuilt past it
	for rs.Next() {
		var idx uint64
		var hash string
		var hexLen uint64
		if err := rs.Scan(&idx, &hash, &hexLen); err != nil {
			return fmt.Errorf("verify: read leaves: %w", err)
		}
		switch {
		case idx < next:
			v.add(Finding{Kind: LeafRepeated, Leaf: idx, HasLeaf: true, Detail: "the leaf index has more than one row: leaves were inserted outside privaudit"})
			continue
		case idx > next:
			v.missing(next, idx, &broken)
		}
		next = idx + 1
		if next%progressEvery == 0 {
			v.o.Logger.Info("verify: leaves read, tree rebuilt so far", "leaves", next)
		}
		if hexLen != 64 || len(hash) != 32 {
			v.add(Finding{Kind: LeafMalformed, Leaf: idx, HasLeaf: true, Detail: "the stored leaf hash is not 32 hex bytes"})
			broken = true
		}
		if broken {
			continue
		}
		if err := rng.Append([]byte(hash), nil); err != nil {
			return fmt.Errorf("verify: rebuild tree: %w", err)
		}
		for len(want) > 0 && want[0].size == next {
			v.compare(rng, want[0])
			want = want[1:]
		}
	}
	if err := rs.Err(); err != nil {
		return fmt.Errorf("verify: read leaves: %w", err)
	}
	v.res.TreeSize = next
	if !broken {
		if v.res.Root, err = rng.GetRootHash(nil); err != nil {
			return fmt.Errorf("verify: rebuild tree: %w", err)
		}
	}
	if len(want) > 0 && !broken {
		v.missing(next, want[len(want)-1].size, &broken)
		for _, w := range want {
			v.add(Finding{Kind: CheckpointInconsistent, Key: w.source, Detail: fmt.Sprintf("it signs %d leaves; the log holds %d: leaves were removed from its end", w.size, next)})
		}
	}
	return nil
}

// compare checks the tree's root at w's size against w's.
func (v *verifier) compare(rng *compact.Range, w expectation) {
	root, err := rng.GetRootHash(nil)
	if err != nil || !bytes.Equal(root, w.root) {
		v.add(Finding{Kind: CheckpointInconsistent, Key: w.source, Detail: fmt.Sprintf("its root at size %d is not the one rebuilt from the stored leaves: leaves before it were altered, or the log was rewritten", w.size)})
	}
}

// missing records the leaf indexes [from, to) as missing.
func (v *verifier) missing(from, to uint64, broken *bool) {
	for i := from; i < to; i++ {
		detail := "no leaf row holds this index: it was removed"
		if !*broken {
			detail += "; the tree cannot be rebuilt past it, so later checkpoints are not checked"
		}
		v.add(Finding{Kind: LeafMissing, Leaf: i, HasLeaf: true, Detail: detail})
		*broken = true
	}
}
