package ingest

import (
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
	perm, _ := sortByRankSecondID(nil, nil, rankValues(nil, &recipient), secs, &id)
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
		if perm, _ := sortByRankSecondID(nil, nil, []uint32{0, 0}, secs, &id); perm != nil {
			t.Fatalf("seconds %v: sorted as %v, want left unsorted", secs, perm)
		}
	}
}
