package ingest

import (
	"math/bits"
	"unsafe"

	"github.com/go-faster/city"
)

// keyHash is ClickHouse's cityHash64 of an idempotency key, the hash the
// key tables are ordered by.
func keyHash(key string) uint64 {
	return city.CH64(unsafe.Slice(unsafe.StringData(key), len(key)))
}

// keyFilter is a Bloom filter of key hashes: every key stored in ClickHouse
// or held by a batch in flight is in it, so a key it does not hold is new
// and needs no lookup. A key it may hold (a duplicate, or a false positive
// about once in 10,000 keys) is looked up in the key table.
//
// It is blocked — the bits of one key share a 64-byte cache line, one
// memory access per key — and scalable: when a layer holds its capacity a
// layer twice as large is added, so the false-positive rate stays low
// however many keys arrive. It takes about 3 bytes per key. It is not safe
// for concurrent use.
type keyFilter struct {
	layers []*filterLayer
}

// filterBitsPerKey sizes the layers: with 7 bits set per key, about
// 1.5e-4 false positives per lookup when a layer is full (fewer before).
const filterBitsPerKey = 24

type filterLayer struct {
	blocks   [][8]uint64
	n, limit int
}

// newKeyFilter returns a filter sized for capacity keys before it grows.
func newKeyFilter(capacity int) *keyFilter {
	f := &keyFilter{}
	f.grow(max(capacity, 1<<22))
	return f
}

func (f *keyFilter) grow(capacity int) {
	nblocks := (capacity*filterBitsPerKey + 511) / 512
	f.layers = append(f.layers, &filterLayer{blocks: make([][8]uint64, nblocks), limit: capacity})
}

// Len is the number of keys added.
func (f *keyFilter) Len() int {
	n := 0
	for _, l := range f.layers {
		n += l.n
	}
	return n
}

// Bytes is the filter's memory.
func (f *keyFilter) Bytes() int {
	n := 0
	for _, l := range f.layers {
		n += len(l.blocks) * 64
	}
	return n
}

// Add adds h and reports whether the filter may have held it already.
func (f *keyFilter) Add(h uint64) (mayHave bool) {
	if f.MayContain(h) {
		return true
	}
	last := f.layers[len(f.layers)-1]
	if last.n >= last.limit {
		f.grow(last.limit * 2)
		last = f.layers[len(f.layers)-1]
	}
	last.set(h)
	last.n++
	return false
}

// MayContain reports whether h may have been added; false is certain.
func (f *keyFilter) MayContain(h uint64) bool {
	for _, l := range f.layers {
		if l.has(h) {
			return true
		}
	}
	return false
}

// probe returns h's block and the 7 bit positions (9 bits each) within it,
// taken from a mix of h independent of the bits that chose the block.
func (l *filterLayer) probe(h uint64) (*[8]uint64, uint64) {
	hi, _ := bits.Mul64(h, uint64(len(l.blocks)))
	return &l.blocks[hi], mix64(h)
}

func (l *filterLayer) set(h uint64) {
	b, m := l.probe(h)
	for range 7 {
		b[(m>>6)&7] |= 1 << (m & 63)
		m >>= 9
	}
}

func (l *filterLayer) has(h uint64) bool {
	b, m := l.probe(h)
	for range 7 {
		if b[(m>>6)&7]&(1<<(m&63)) == 0 {
			return false
		}
		m >>= 9
	}
	return true
}

// mix64 is MurmurHash3's 64-bit finalizer, a bijection that spreads every
// input bit over the output.
func mix64(x uint64) uint64 {
	x ^= x >> 33
	x *= 0xff51afd7ed558ccd
	x ^= x >> 33
	x *= 0xc4ceb9fe1a85ec53
	x ^= x >> 33
	return x
}
