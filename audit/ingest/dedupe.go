package ingest

import (
	"hash/maphash"
	"sync"
)

// dedupe keeps the first record of each key, in order. Records are moved
// only after the first duplicate, which is rare.
//
// It runs on every request, so it uses a table reused from request to
// request instead of a new map: an open-addressing set of the kept
// records' positions, found by a hash of the key and confirmed by
// comparing the keys themselves, so a hash collision never drops a record.
func dedupe[T any](recs []T, key func(*T) string) []T {
	t := dedupTables.Get().(*dedupTable)
	defer dedupTables.Put(t)
	t.reset(len(recs))
	n := 0
	for i := range recs {
		k := key(&recs[i])
		slot := t.find(k, func(kept int32) bool { return key(&recs[kept]) == k })
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

// dedupTable is an open-addressing hash set of record positions: slots
// hold position+1, 0 is empty. It holds at most half as many records as
// it has slots, so probe sequences stay short.
type dedupTable struct {
	seed  maphash.Seed
	slots []int32
	mask  uint64
}

var dedupTables = sync.Pool{New: func() any { return &dedupTable{seed: maphash.MakeSeed()} }}

// reset empties t and sizes it for n records.
func (t *dedupTable) reset(n int) {
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

// find returns the slot of the record whose key is k — same reports
// whether the record at a kept position has it — or the empty slot where
// it belongs.
func (t *dedupTable) find(k string, same func(kept int32) bool) uint64 {
	i := maphash.String(t.seed, k) & t.mask
	for t.slots[i] != 0 && !same(t.slots[i]-1) {
		i = (i + 1) & t.mask
	}
	return i
}
