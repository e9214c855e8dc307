package ingest

import (
	"runtime"
	"slices"
	"testing"
)

// TestBoxRow checks that a row boxed without allocating reads back as the
// same []*string, elements and length, through the driver's type switch.
func TestBoxRow(t *testing.T) {
	a, b, c := "alpha", "", "gamma"
	rows := [][]*string{{&a, &b, &c}, {}, {&c}}
	for i := range rows {
		v := boxRow(&rows[i])
		runtime.GC() // the interface must keep pointing at live memory
		got, ok := v.([]*string)
		if !ok {
			t.Fatalf("row %d: boxed as %T, want []*string", i, v)
		}
		if len(got) != len(rows[i]) || cap(got) != cap(rows[i]) || !slices.Equal(got, rows[i]) {
			t.Fatalf("row %d: got %v, want %v", i, got, rows[i])
		}
	}
	if n := testing.AllocsPerRun(100, func() { _ = boxRow(&rows[0]).([]*string) }); n != 0 {
		t.Fatalf("boxRow allocates %.0f times per row, want 0", n)
	}
}
