package ingest

import (
	"slices"
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
	if len(c.held) != 0 {
		t.Fatalf("%d keys still held after every release", len(c.held))
	}
	// A reused set starts empty.
	keepD, heldD, releaseD := c.claim([]string{"z"})
	defer releaseD()
	if !slices.Equal(keepD, []bool{true}) || !slices.Equal(heldD, []string{"z"}) {
		t.Fatalf("batch D on a reused set: keep %v held %v", keepD, heldD)
	}
}
