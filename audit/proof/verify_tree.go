package proof

import (
	"bytes"
	"cmp"
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/maphash"
	"maps"
	"slices"
	"time"

	"github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/rfc6962"

	"github.com/privaudit/privaudit/audit"
	"github.com/privaudit/privaudit/audit/chwire"
	"github.com/privaudit/privaudit/queries"
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

// errUnordered stops a read of the leaves in stored order that did not
// come in index order; tree then reads them sorted.
var errUnordered = errors.New("verify: leaves not read in index order")

// tree rebuilds the tree from the stored leaves up to the snapshot, in
// index order, compares its root with each expectation at its size, and
// tallies the leaves for the digest pass. It reads the leaves in stored
// order first, which a single reader gets in index order without a sort;
// when they do not come in order (a gap, a repeat, or parts read out of
// order), it starts again with them sorted, which tells these apart.
func (v *verifier) tree(ctx context.Context, want []expectation) (leafTally, error) {
	slices.SortStableFunc(want, func(a, b expectation) int { return cmp.Compare(a.size, b.size) })
	for len(want) > 0 && want[0].size == 0 {
		want = want[1:]
	}
	v.o.Logger.Info("verify: rebuilding the tree from the stored leaves", "leaves", v.snap.rows, "checkpoints", len(want))
	listed, counts := len(v.res.Findings), maps.Clone(v.res.Counts)
	t, err := v.fold(ctx, want, false)
	if errors.Is(err, errUnordered) {
		v.o.Logger.Info("verify: the leaves were not stored in index order; reading them sorted")
		v.res.Findings, v.res.Counts = v.res.Findings[:listed], counts
		t, err = v.fold(ctx, want, true)
	}
	return t, err
}

// fold is one read of the leaves for tree.
func (v *verifier) fold(ctx context.Context, want []expectation, sorted bool) (leafTally, error) {
	var t leafTally
	if v.digest {
		t.keys = make([]uint64, 0, v.snap.rows)
	}
	rng := (&compact.RangeFactory{Hash: rfc6962.DefaultHasher.HashChildren}).NewEmptyRange(0)
	var next uint64 // the index the tree needs next
	broken := false // a leaf is missing: the tree cannot be rebuilt past it
	err := v.leaves(ctx, sorted, func(l *leafRow) error {
		switch {
		case l.idx != next && !sorted:
			return errUnordered
		case l.idx < next:
			v.add(Finding{Kind: LeafRepeated, Leaf: l.idx, HasLeaf: true, Detail: "the leaf index has more than one row: leaves were inserted outside privaudit"})
			t.faults = true
			return nil
		case l.idx > next:
			v.missing(next, l.idx, &broken)
		}
		next = l.idx + 1
		if next%progressEvery == 0 {
			v.o.Logger.Info("verify: leaves read, tree rebuilt so far", "leaves", next)
		}
		t.tally(l, v.retained)
		if l.hexLen != 64 || len(l.hash) != 32 {
			v.add(Finding{Kind: LeafMalformed, Leaf: l.idx, HasLeaf: true, Detail: "its run of leaves holds a different number of hashes than of record keys"})
			broken = true
		}
		if broken {
			return nil
		}
		if err := rng.Append(slices.Clone(l.hash), nil); err != nil {
			return fmt.Errorf("verify: rebuild tree: %w", err)
		}
		for len(want) > 0 && want[0].size == next {
			v.compare(rng, want[0])
			want = want[1:]
		}
		return nil
	})
	if err != nil {
		return t, err
	}
	t.faults = t.faults || broken
	if t.keys != nil {
		t.keysOnce()
	}
	v.res.TreeSize = next
	if !broken {
		if v.res.Root, err = rng.GetRootHash(nil); err != nil {
			return t, fmt.Errorf("verify: rebuild tree: %w", err)
		}
	}
	if len(want) > 0 && !broken {
		v.missing(next, want[len(want)-1].size, &broken)
		for _, w := range want {
			v.add(Finding{Kind: CheckpointInconsistent, Key: w.source, Detail: fmt.Sprintf("it signs %d leaves; the log holds %d: leaves were removed from its end", w.size, next)})
		}
	}
	return t, nil
}

// leafRow is one leaf of a run read by verify_leaves. hexLen is 64, or 0
// for each leaf of a run whose keys and hashes differ in number (altered by
// hand), whose hashes are then not used. key is a hash of its record kind
// and key; d1 and d2 are its terms in the keyed digest (see digestKey).
// hash is only valid during the call it is passed to.
type leafRow struct {
	idx, hexLen, d1, d2, key uint64
	hash                     []byte
	consent                  uint8
}

func (l *leafRow) kind() string {
	if l.consent == 1 {
		return string(audit.KindConsents)
	}
	return string(audit.KindEvents)
}

// leaves reads the runs of leaves up to the snapshot, sorted by their first
// index or in stored order, calling row for each of their leaves up to it.
// It reads them over audit/chwire; a single reader (max_threads 1) gets
// them in stored order.
func (v *verifier) leaves(ctx context.Context, sorted bool, row func(*leafRow) error) error {
	if v.snap.rows == 0 {
		return nil
	}
	q, err := queries.ProofFiltered("verify_leaves", v.o.Schema, map[string]bool{"sorted": sorted})
	if err != nil {
		return err
	}
	o := v.o.Scan
	if !sorted {
		o.Settings = maps.Clone(o.Settings)
		if o.Settings == nil {
			o.Settings = map[string]uint64{}
		}
		o.Settings["max_threads"] = 1
	}
	rd, err := chwire.Query(ctx, o, q)
	if err != nil {
		return fmt.Errorf("verify: read leaves: %w", err)
	}
	defer rd.Close()
	lr := leafReader{seed: maphash.MakeSeed(), terms: v.key.keyed(), last: v.snap.last, row: row}
	var b chwire.Block
	for {
		ok, err := rd.Next(&b)
		if err != nil {
			return fmt.Errorf("verify: read leaves: %w", err)
		}
		if !ok {
			return nil
		}
		if err := lr.block(&b); err != nil {
			return err
		}
	}
}

// leafReader expands blocks of runs (verify_leaves.sql's columns) into
// leaves.
type leafReader struct {
	seed  maphash.Seed
	h     maphash.Hash
	terms *keyed
	last  uint64
	row   func(*leafRow) error
	l     leafRow
}

func (lr *leafReader) block(b *chwire.Block) error {
	if len(b.Columns) != 4 || b.Columns[0].Width != 8 || b.Columns[1].Width != 1 || b.Columns[2].Kind != chwire.Strings || b.Columns[3].Kind != chwire.FixedStrings {
		return errors.New("verify: read leaves: verify_leaves.sql returned other columns than first_leaf, is_consent, record_keys, leaf_hashes")
	}
	firsts, consents, keys, hashes := &b.Columns[0], &b.Columns[1], &b.Columns[2], &b.Columns[3]
	lr.h.SetSeed(lr.seed)
	l := &lr.l
	for r := range b.Rows {
		first := binary.LittleEndian.Uint64(firsts.Fixed(r))
		l.consent = consents.Fixed(r)[0]
		kf, kt := keys.Elems(r)
		hf, ht := hashes.Elems(r)
		whole := kt-kf == ht-hf
		for i := range kt - kf {
			if l.idx = first + uint64(i); l.idx > lr.last {
				break
			}
			l.hash, l.hexLen, l.d1, l.d2 = nil, 0, 0, 0
			if whole {
				l.hash, l.hexLen = hashes.Bytes(hf+i), 64
				l.d1, l.d2 = termsOf(lr.terms, l.hash)
			}
			lr.h.Reset()
			lr.h.WriteByte(l.consent)
			lr.h.Write(keys.Bytes(kf + i))
			l.key = lr.h.Sum64()
			if err := lr.row(l); err != nil {
				return err
			}
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

// missing records the leaf indexes [from, to) as missing: each is counted,
// and listed while fewer than MaxListed findings are.
func (v *verifier) missing(from, to uint64, broken *bool) {
	for i := from; i < to; i++ {
		if len(v.res.Findings) >= v.o.MaxListed {
			v.res.Counts[LeafMissing] += to - i
			break
		}
		detail := "no run of leaves holds this index: it was removed"
		if !*broken {
			detail += "; the tree cannot be rebuilt past it, so later checkpoints are not checked"
		}
		v.add(Finding{Kind: LeafMissing, Leaf: i, HasLeaf: true, Detail: detail})
		*broken = true
	}
	if from < to {
		*broken = true
	}
}
