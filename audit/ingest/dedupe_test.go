package ingest

import (
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"
)

// TestDedupe: dedupe keeps exactly the first record of each key, in order,
// however keys repeat, for small tables (where slots collide often) and
// large ones, with the table reused from call to call.
func TestDedupe(t *testing.T) {
	type rec struct{ key, val string }
	rng := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{0, 1, 2, 7, 8, 9, 100, 5000} {
		for _, distinct := range []int{1, 3, max(n/2, 1), max(n, 1)} {
			recs := make([]rec, n)
			for i := range recs {
				recs[i] = rec{key: "k" + strconv.Itoa(rng.IntN(distinct)), val: strconv.Itoa(i)}
			}
			var want []rec
			seen := map[string]bool{}
			for _, r := range recs {
				if !seen[r.key] {
					seen[r.key] = true
					want = append(want, r)
				}
			}
			got := dedupe(slices.Clone(recs), func(r *rec) string { return r.key })
			if !slices.Equal(got, want) {
				t.Fatalf("n=%d distinct=%d: kept %d records, want %d (first %v vs %v)", n, distinct, len(got), len(want), head(got), head(want))
			}
		}
	}
}

func head[T any](s []T) []T { return s[:min(len(s), 5)] }

// BenchmarkDedupe compares dedupe with a fresh map per request, on 14,000
// distinct UUID keys (one request of privaudit bench).
func BenchmarkDedupe(b *testing.B) {
	type rec struct{ key string }
	recs := make([]rec, 14_000)
	for i := range recs {
		recs[i].key = "00000000-0000-4000-8000-" + strconv.FormatInt(int64(100_000_000_000+i*7919), 10)
	}
	work := make([]rec, len(recs))
	b.Run("table", func(b *testing.B) {
		for b.Loop() {
			copy(work, recs)
			if len(dedupe(work, func(r *rec) string { return r.key })) != len(recs) {
				b.Fatal("lost records")
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(recs)), "ns/record")
	})
	b.Run("map", func(b *testing.B) {
		for b.Loop() {
			seen := make(map[string]struct{}, len(recs))
			for i := range recs {
				seen[recs[i].key] = struct{}{}
			}
			if len(seen) != len(recs) {
				b.Fatal("lost records")
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(recs)), "ns/record")
	})
}
