package ingest

import (
	"hash/maphash"
	"sync"
)

// dedupe keeps the first record of each key, in order. Records are moved
// only after the first duplicate, which is rare.
//
// It runs on every request, so it uses a set reused from request to
// request instead of a new map.
func dedupe[T any](recs []T, key func(*T) string) []T {
	t := dedupSets.Get().(*keySet)
	defer dedupSets.Put(t)
	t.reset(len(recs))
	n := 0
	for i := range recs {
		k := key(&recs[i])
		slot := t.find(hashKey(k), func(kept int32) bool { return key(&recs[kept]) == k })
		if t.slots[slot] != 0 {
			continue // a repeated key
		}
		t.slots[slot] = int32(n) + 1
		if n != i {
			recs[n] = recs[i]
		}
		n++
	}
	clear(recs[n:])
	return recs[:n]
}

var dedupSets = sync.Pool{New: func() any { return new(keySet) }}

// keySeed seeds hashKey for this process. Unlike keyHash (ClickHouse's
// unseeded cityHash64, which the key tables need), a seeded hash keeps a
// client from sending keys crafted to collide and make a keySet slow.
var keySeed = maphash.MakeSeed()

// hashKey hashes a key for a keySet.
func hashKey(k string) uint64 { return maphash.String(keySeed, k) }

// keySet is an open-addressing hash set of keys held elsewhere, by their
// positions there: slots hold position+1, 0 is empty. A key is found by
// its hash and confirmed by comparing the keys themselves, so a hash
// collision never merges two keys. It holds at most half as many keys as
// it has slots, so probe sequences stay short, and it is reused: reset
// keeps its memory.
type keySet struct {
	slots []int32
	mask  uint64
}

// reset empties t and sizes it for n keys.
func (t *keySet) reset(n int) {
	size := 16
	for size < 2*n {
		size *= 2
	}
	if cap(t.slots) < size {
		t.slots = make([]int32, size)
	}
	t.slots = t.slots[:size]
	clear(t.slots)
	t.mask = uint64(size - 1)
}

// find returns the slot holding the key with hash h — same reports whether
// the key at a held position is it — or the empty slot where it belongs.
func (t *keySet) find(h uint64, same func(pos int32) bool) uint64 {
	i := h & t.mask
	for t.slots[i] != 0 && !same(t.slots[i]-1) {
		i = (i + 1) & t.mask
	}
	return i
}
