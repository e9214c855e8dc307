package ingest

import (
	"cmp"
	"math"
	"math/bits"
	"slices"
)

// Batches are sent to ClickHouse in the order of the table's ORDER BY.
// ClickHouse sorts every inserted block unless it already is sorted (it
// checks first), so sorting here, where the sort keys are at hand, spares
// the server a sort per block — the server is the busier process of the
// two. Correctness never depends on it: a block in any order is stored the
// same.

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

// sortScratch is the memory sortByRankSecondID reuses from batch to batch.
type sortScratch struct{ keys, tmp []uint64 }

// sortByRankSecondID returns the permutation that orders records by
// (ranks[i], secs[i], id i) — the ORDER BY of access_events — packing
// rank, second (relative to the batch's first) and index in one uint64 so
// that the sort compares plain integers. It returns nil, leaving the batch
// in arrival order, when they do not fit in 64 bits (billions of distinct
// recipients over decades) or a second is outside ClickHouse's DateTime
// (0 to 2^32-1): sorting only spares the server work.
func sortByRankSecondID(perm []int32, sc *sortScratch, ranks []uint32, secs []int64, id *strCol) []int32 {
	if len(ranks) == 0 {
		return perm[:0]
	}
	minSec, maxSec, maxRank := secs[0], secs[0], uint32(0)
	for i, s := range secs {
		minSec, maxSec, maxRank = min(minSec, s), max(maxSec, s), max(maxRank, ranks[i])
	}
	if minSec < 0 || maxSec > math.MaxUint32 {
		return nil
	}
	idxBits := bits.Len(uint(len(ranks) - 1))
	secBits := bits.Len64(uint64(maxSec - minSec))
	width := idxBits + secBits + bits.Len32(maxRank)
	if width > 64 {
		return nil
	}
	keys := sc.keys[:0]
	for i := range ranks {
		keys = append(keys, uint64(ranks[i])<<(secBits+idxBits)|uint64(secs[i]-minSec)<<idxBits|uint64(i))
	}
	a, b := keys, grow(sc.tmp[:0], len(keys))[:len(keys)]
	keys = radixSort(a, b, width) // a or b
	sc.keys, sc.tmp = a[:0], b[:0]
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
	return perm
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

// gather returns dst holding src's elements in the order of perm.
func gather[T any](dst []T, src []T, perm []int32) []T {
	dst = dst[:0]
	for _, i := range perm {
		dst = append(dst, src[i])
	}
	return dst
}
