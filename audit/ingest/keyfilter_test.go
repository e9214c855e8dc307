package ingest

import (
	"strconv"
	"testing"
)

func TestKeyFilterNoFalseNegatives(t *testing.T) {
	f := newKeyFilter(1000) // grows from its minimum size
	const n = 200_000
	for i := range n {
		if f.Add(keyHash("key-"+strconv.Itoa(i))) && i == 0 {
			t.Fatal("an empty filter claims to hold a key")
		}
	}
	for i := range n {
		if !f.MayContain(keyHash("key-" + strconv.Itoa(i))) {
			t.Fatalf("key %d was added but the filter does not hold it", i)
		}
	}
	if f.Len() > n {
		t.Fatalf("Len = %d after %d distinct keys", f.Len(), n)
	}
}

func TestKeyFilterFalsePositiveRate(t *testing.T) {
	const n = 1 << 20
	f := &keyFilter{}
	f.grow(n)
	for i := range n {
		f.Add(keyHash("in-" + strconv.Itoa(i)))
	}
	fp := 0
	const probes = 1_000_000
	for i := range probes {
		if f.MayContain(keyHash("out-" + strconv.Itoa(i))) {
			fp++
		}
	}
	// A full layer is designed for about 1.5e-4; allow twice that.
	if rate := float64(fp) / probes; rate > 3e-4 {
		t.Fatalf("false-positive rate %.2g at capacity, want ≤ 3e-4", rate)
	}
	t.Logf("false positives at capacity: %d of %d", fp, probes)
}

func TestKeyFilterGrows(t *testing.T) {
	f := &keyFilter{}
	f.grow(1000)
	for i := range 10_000 {
		f.Add(keyHash(strconv.Itoa(i)))
	}
	if len(f.layers) < 3 {
		t.Fatalf("%d layers after 10× the first layer's capacity, want ≥ 3", len(f.layers))
	}
	fp := 0
	for i := range 100_000 {
		if f.MayContain(keyHash("x" + strconv.Itoa(i))) {
			fp++
		}
	}
	if fp > 100 {
		t.Fatalf("%d false positives in 100,000 after growing", fp)
	}
}
