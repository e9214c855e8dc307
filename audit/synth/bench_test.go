package synth

import (
	"context"
	"io"
	"testing"
	"time"
)

// BenchmarkGenerate measures generation of 1M events for 100k customers
// (consent ledger included) to io.Discard.
func BenchmarkGenerate(b *testing.B) {
	opts := Options{Seed: 1, Customers: 100000, Events: 1000000, Now: testNow}
	var events int
	start := time.Now()
	for b.Loop() {
		st, err := Generate(context.Background(), opts, io.Discard, io.Discard)
		if err != nil {
			b.Fatal(err)
		}
		events += st.Events
	}
	b.ReportMetric(float64(events)/time.Since(start).Seconds(), "events/s")
}
