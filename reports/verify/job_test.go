package verify

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/privaudit/privaudit/audit"
	"github.com/privaudit/privaudit/audit/ingest/ingesttest"
	"github.com/privaudit/privaudit/audit/synth"
)

// TestJobSettlesFirst: a check run right after records were accepted
// (acknowledged, perhaps not yet stored) waits for their verdicts with
// Settle, checks every event, finds them clean and publishes it.
func TestJobSettlesFirst(t *testing.T) {
	env := ingesttest.Start(t, ingesttest.Options{})
	var events, consents bytes.Buffer
	if _, err := synth.Generate(context.Background(), synth.Options{Seed: 4, Customers: 100, Events: testEvents,
		From: octFrom, To: octTo, Now: time.Date(2026, 11, 15, 0, 0, 0, 0, time.UTC)}, &events, &consents); err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	job, err := NewJob(JobOptions{Conn: env.Conn, Schema: env.Schema, Registerer: reg, Logger: env.Log,
		RecheckAfter: -1, Settle: env.Ingestor.WaitVerdicts})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []struct {
		kind audit.Kind
		body string
	}{{audit.KindConsents, consents.String()}, {audit.KindEvents, events.String()}} {
		if code, resp := env.Post(t, p.kind, p.body); code != 200 {
			t.Fatalf("post %s: %d %s", p.kind, code, resp)
		}
	}
	res, err := job.Run(context.Background(), "nightly", octFrom, octTo)
	if err != nil || !res.Clean() || res.Checked != testEvents {
		t.Fatalf("want %d events checked clean, got %+v, %v", testEvents, res, err)
	}
	for name, want := range map[string]float64{"checked": testEvents, "differing": 0, "missing": 0, "last_run_success": 1} {
		if got, ok := gaugeValue(t, reg, "privaudit_verify_verdicts_"+name, "nightly"); !ok || got != want {
			t.Errorf("%s = %v (set: %v), want %v", name, got, ok, want)
		}
	}
}

// gaugeValue reads the gauge name{schedule} from reg; ok is false while
// it has no value.
func gaugeValue(t *testing.T, reg *prometheus.Registry, name, schedule string) (float64, bool) {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "schedule" && l.GetValue() == schedule {
					return m.GetGauge().GetValue(), true
				}
			}
		}
	}
	return 0, false
}
