package ingest

import (
	"cmp"
	"math"
	"slices"
	"unsafe"
)

// Batches are sent to ClickHouse in the order of the table's ORDER BY.
// ClickHouse sorts every inserted block unless it already is sorted (it
// checks first), so sorting here, where the sort keys are at hand, spares
// the server a sort per block — the server is the busier process of the
// two. Correctness never depends on it: a block in any order is stored the
// same.

// sortEntry is one record's place in the sorted order: its leading sort
// keys packed in one number, and its index.
type sortEntry struct {
	key uint64 // rank of the first column's value << 32 | the DateTime second
	idx int32
}

// rankValues returns, for each value of c, the rank of the value among the
// column's distinct values in byte order (how ClickHouse orders String).
// Columns such as recipient_id hold few distinct values, so ranking them
// costs one map lookup per record and spares string comparisons in the sort.
func rankValues(dst []uint32, c *strCol) []uint32 {
	ids := make(map[string]uint32)
	var distinct []string
	dst = dst[:0]
	start := 0
	for _, end := range c.ends {
		v := view(c.buf[start:end])
		id, ok := ids[v]
		if !ok {
			id = uint32(len(distinct))
			ids[v] = id
			distinct = append(distinct, v)
		}
		dst = append(dst, id)
		start = end
	}
	order := make([]uint32, len(distinct)) // order[i]: distinct value i's position
	byValue := make([]uint32, len(distinct))
	for i := range byValue {
		byValue[i] = uint32(i)
	}
	slices.SortFunc(byValue, func(a, b uint32) int { return cmp.Compare(distinct[a], distinct[b]) })
	for pos, i := range byValue {
		order[i] = uint32(pos)
	}
	for i, id := range dst {
		dst[i] = order[id]
	}
	return dst
}

// value returns value i of c as a string sharing the arena's memory.
func (c *strCol) value(i int) string {
	return view(c.buf[c.start(i):c.ends[i]])
}

// view is b as a string sharing its memory; valid while b is unchanged.
func view(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

// sortByRankSecondID returns the permutation that orders records by
// (ranks[i], secs[i], id i) — the ORDER BY of access_events. Seconds are
// those of a ClickHouse DateTime, which holds 0 to 2^32-1; a batch with any
// other (which ClickHouse cannot store as sent) is left unsorted.
func sortByRankSecondID(perm []int32, entries []sortEntry, ranks []uint32, secs []int64, id *strCol) ([]int32, []sortEntry) {
	entries = entries[:0]
	for i := range ranks {
		if secs[i] < 0 || secs[i] > math.MaxUint32 {
			return nil, entries
		}
		entries = append(entries, sortEntry{key: uint64(ranks[i])<<32 | uint64(secs[i]), idx: int32(i)})
	}
	slices.SortFunc(entries, func(a, b sortEntry) int { return cmp.Compare(a.key, b.key) })
	// Records with equal keys (one recipient, one second) are few: order
	// each run of them by id.
	for lo := 0; lo < len(entries); {
		hi := lo + 1
		for hi < len(entries) && entries[hi].key == entries[lo].key {
			hi++
		}
		if hi-lo > 1 {
			slices.SortFunc(entries[lo:hi], func(a, b sortEntry) int {
				return cmp.Compare(id.value(int(a.idx)), id.value(int(b.idx)))
			})
		}
		lo = hi
	}
	perm = perm[:0]
	for _, e := range entries {
		perm = append(perm, e.idx)
	}
	return perm, entries
}

// gather returns dst holding src's elements in the order of perm.
func gather[T any](dst []T, src []T, perm []int32) []T {
	dst = dst[:0]
	for _, i := range perm {
		dst = append(dst, src[i])
	}
	return dst
}
