package ingest

import (
	"cmp"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

func TestRankValuesFollowsByteOrder(t *testing.T) {
	vals := []string{"messenger", "card-net", "", "Messenger", "messenger", "card", "ü-pay", "z", "card-net", "émetteur"}
	var c strCol
	for _, v := range vals {
		c.addBytes([]byte(v))
	}
	ranks := rankValues(nil, &c)
	for i := range vals {
		for j := range vals {
			if (vals[i] < vals[j]) != (ranks[i] < ranks[j]) || (vals[i] == vals[j]) != (ranks[i] == ranks[j]) {
				t.Fatalf("%q has rank %d, %q rank %d", vals[i], ranks[i], vals[j], ranks[j])
			}
		}
	}
}

func TestSortByRankSecondIDOrdersLikeTheTable(t *testing.T) {
	type rec struct {
		recipient string
		sec       int64
		id        string
	}
	recs := []rec{{"b", 5, "x"}, {"a", 9, "b"}, {"b", 5, "a"}, {"a", 9, "a"}, {"a", 3, "z"}, {"c", 0, "m"}, {"a", 10, "0"},
		{"a", 9, "ab"}, {"b", 4294967295, "q"}, {"b", 4294967295, "p"}}
	var recipient, id strCol
	var secs []int64
	for _, r := range recs {
		recipient.addBytes([]byte(r.recipient))
		id.addBytes([]byte(r.id))
		secs = append(secs, r.sec)
	}
	perm := sortByRankSecondID(nil, &sortScratch{}, rankValues(nil, &recipient), secs, &id)
	got := gather(nil, recs, perm)
	want := slices.Clone(recs)
	slices.SortFunc(want, func(a, b rec) int {
		switch {
		case a.recipient != b.recipient:
			return map[bool]int{true: -1, false: 1}[a.recipient < b.recipient]
		case a.sec != b.sec:
			return map[bool]int{true: -1, false: 1}[a.sec < b.sec]
		case a.id != b.id:
			return map[bool]int{true: -1, false: 1}[a.id < b.id]
		}
		return 0
	})
	if !slices.Equal(got, want) {
		t.Fatalf("order\n got %v\nwant %v", got, want)
	}
}

func TestSortLeavesOutOfRangeSecondsUnsorted(t *testing.T) {
	var id strCol
	id.addBytes([]byte("a"))
	id.addBytes([]byte("b"))
	for _, secs := range [][]int64{{5, -1}, {1 << 32, 5}} {
		if perm := sortByRankSecondID(nil, &sortScratch{}, []uint32{0, 0}, secs, &id); perm != nil {
			t.Fatalf("seconds %v: sorted as %v, want left unsorted", secs, perm)
		}
	}
}

// TestSortMatchesReferenceSort compares the packed radix sort with a plain
// comparison sort on random batches with many ties, reusing one scratch
// across batches of different sizes as the writer does, and checks that a
// batch whose keys cannot be packed is left unsorted.
func TestSortMatchesReferenceSort(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	var sc sortScratch
	var perm []int32
	for _, n := range []int{1, 2, 17, 70000, 1000, 30000} {
		var id strCol
		ranks, secs := make([]uint32, n), make([]int64, n)
		for i := range n {
			ranks[i] = uint32(r.IntN(7))
			secs[i] = 1_790_000_000 + int64(r.IntN(50))
			id.addBytes([]byte(fmt.Sprintf("%08x-0000-4000-8000-%012x", r.Uint32(), i)))
		}
		perm = sortByRankSecondID(perm, &sc, ranks, secs, &id)
		want := make([]int32, n)
		for i := range want {
			want[i] = int32(i)
		}
		slices.SortFunc(want, func(a, b int32) int {
			return cmp.Or(cmp.Compare(ranks[a], ranks[b]), cmp.Compare(secs[a], secs[b]), cmp.Compare(id.value(int(a)), id.value(int(b))))
		})
		if !slices.Equal(perm, want) {
			t.Fatalf("n=%d: the packed sort differs from a comparison sort", n)
		}
	}
	var id strCol
	id.addBytes([]byte("a"))
	id.addBytes([]byte("b"))
	if perm := sortByRankSecondID(nil, &sc, []uint32{math.MaxUint32, 0}, []int64{0, math.MaxUint32}, &id); perm != nil {
		t.Fatal("32 rank bits, 32 second bits and an index packed into 64 bits")
	}
}

// BenchmarkSortBatch sorts a batch of 100,000 records of 7 recipients over
// a day.
func BenchmarkSortBatch(b *testing.B) {
	r := rand.New(rand.NewPCG(5, 6))
	const n = 100_000
	var id strCol
	ranks, secs := make([]uint32, n), make([]int64, n)
	for i := range n {
		ranks[i], secs[i] = uint32(r.IntN(7)), 1_790_000_000+int64(i*86400/n)
		id.addBytes([]byte(fmt.Sprintf("%08x-0000-4000-8000-%012x", r.Uint32(), i)))
	}
	var perm []int32
	var sc sortScratch
	for b.Loop() {
		perm = sortByRankSecondID(perm, &sc, ranks, secs, &id)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/record")
}

func TestRadixSortMatchesSlicesSort(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for _, width := range []int{0, 1, 11, 12, 37, 64} {
		keys := make([]uint64, 5000)
		for i := range keys {
			if width > 0 {
				keys[i] = r.Uint64() >> (64 - width)
			}
		}
		want := slices.Clone(keys)
		slices.Sort(want)
		if got := radixSort(keys, make([]uint64, len(keys)), width); !slices.Equal(got, want) {
			t.Fatalf("width %d: radix sort differs from slices.Sort", width)
		}
	}
}
