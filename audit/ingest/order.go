package ingest

import (
	"cmp"
	"math"
	"math/bits"
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
	for _, s := range secs {
		if s < 0 || s > math.MaxUint32 {
			return nil, entries
		}
	}
	if p, ok := sortPacked(perm, ranks, secs, id); ok {
		return p, entries
	}
	return sortEntries(perm, entries, ranks, secs, id)
}

// sortPacked sorts when rank, second (relative to the batch's first) and
// index fit in one uint64 together — as in any batch of real traffic — so
// the sort compares plain integers. ok is false when they do not fit.
func sortPacked(perm []int32, ranks []uint32, secs []int64, id *strCol) (_ []int32, ok bool) {
	if len(ranks) == 0 {
		return perm[:0], true
	}
	minSec, maxSec, maxRank := secs[0], secs[0], uint32(0)
	for i, s := range secs {
		minSec, maxSec, maxRank = min(minSec, s), max(maxSec, s), max(maxRank, ranks[i])
	}
	idxBits := bits.Len(uint(len(ranks) - 1))
	secBits := bits.Len64(uint64(maxSec - minSec))
	if idxBits+secBits+bits.Len32(maxRank) > 64 {
		return perm, false
	}
	keys := make([]uint64, len(ranks))
	for i := range keys {
		keys[i] = uint64(ranks[i])<<(secBits+idxBits) | uint64(secs[i]-minSec)<<idxBits | uint64(i)
	}
	keys = radixSort(keys, make([]uint64, len(keys)), idxBits+secBits+bits.Len32(maxRank))
	perm = perm[:0]
	for _, k := range keys {
		perm = append(perm, int32(k&(1<<idxBits-1)))
	}
	// Records of one recipient in one second are few: order each run of
	// them by id.
	for lo := 0; lo < len(keys); {
		hi := lo + 1
		for hi < len(keys) && keys[hi]>>idxBits == keys[lo]>>idxBits {
			hi++
		}
		if hi-lo > 1 {
			slices.SortFunc(perm[lo:hi], func(a, b int32) int { return cmp.Compare(id.value(int(a)), id.value(int(b))) })
		}
		lo = hi
	}
	return perm, true
}

// radixSort sorts keys, whose values have at most width bits, by least
// significant digit first; tmp is scratch of the same length. It returns
// whichever of the two holds the result.
func radixSort(keys, tmp []uint64, width int) []uint64 {
	const digit = 11 // 2048 buckets: the counts stay in the L1 cache
	var count [1 << digit]int
	for shift := 0; shift < width; shift += digit {
		clear(count[:])
		for _, k := range keys {
			count[(k>>shift)&(1<<digit-1)]++
		}
		sum := 0
		for i, c := range count {
			count[i], sum = sum, sum+c
		}
		for _, k := range keys {
			d := (k >> shift) & (1<<digit - 1)
			tmp[count[d]] = k
			count[d]++
		}
		keys, tmp = tmp, keys
	}
	return keys
}

// sortEntries is the general sort, for batches sortPacked cannot pack.
func sortEntries(perm []int32, entries []sortEntry, ranks []uint32, secs []int64, id *strCol) ([]int32, []sortEntry) {
	entries = entries[:0]
	for i := range ranks {
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
