package ingest

import (
	"slices"
	"strconv"
	"testing"
)

// TestClaims: a batch keeps the first of each of its keys that no batch in
// flight holds; a released batch's keys can be claimed again.
func TestClaims(t *testing.T) {
	var c claims
	keepA, heldA, releaseA := c.claim([]string{"a", "b", "b", "c"})
	if !slices.Equal(keepA, []bool{true, true, false, true}) || !slices.Equal(heldA, []string{"a", "b", "c"}) {
		t.Fatalf("batch A: keep %v held %v", keepA, heldA)
	}
	keepB, heldB, releaseB := c.claim([]string{"b", "c", "d", "d"})
	if !slices.Equal(keepB, []bool{false, false, true, false}) || !slices.Equal(heldB, []string{"d"}) {
		t.Fatalf("batch B while A is in flight: keep %v held %v", keepB, heldB)
	}
	releaseA()
	keepC, heldC, releaseC := c.claim([]string{"d", "b", "a"})
	if !slices.Equal(keepC, []bool{false, true, true}) || !slices.Equal(heldC, []string{"b", "a"}) {
		t.Fatalf("batch C after A's release, while B is in flight: keep %v held %v", keepC, heldC)
	}
	releaseB()
	releaseC()
	if len(c.sets) != 0 {
		t.Fatalf("%d batches still hold keys after every release", len(c.sets))
	}
	// A reused set starts empty.
	keepD, heldD, releaseD := c.claim([]string{"z"})
	defer releaseD()
	if !slices.Equal(keepD, []bool{true}) || !slices.Equal(heldD, []string{"z"}) {
		t.Fatalf("batch D on a reused set: keep %v held %v", keepD, heldD)
	}
}

// TestClaimsMany: with many keys (probe chains, reused sets), a batch in
// flight blocks exactly the keys it holds.
func TestClaimsMany(t *testing.T) {
	var c claims
	key := func(i int) string { return "00000000-0000-4000-8000-" + strconv.Itoa(1_000_000_000+i) }
	for round := range 3 {
		var a, b []string
		for i := range 20_000 {
			a = append(a, key(i))
			b = append(b, key(10_000+i)) // overlaps a's second half
		}
		keepA, _, releaseA := c.claim(a)
		keepB, heldB, releaseB := c.claim(b)
		if n := count(keepA); n != 20_000 {
			t.Fatalf("round %d: A keeps %d of its 20,000 distinct keys", round, n)
		}
		if n := count(keepB); n != 10_000 || heldB[0] != key(20_000) {
			t.Fatalf("round %d: B keeps %d keys (first %q), want the 10,000 A does not hold", round, n, heldB[0])
		}
		releaseA()
		releaseB()
	}
}

func count(keep []bool) int {
	n := 0
	for _, k := range keep {
		if k {
			n++
		}
	}
	return n
}
