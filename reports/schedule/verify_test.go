package schedule

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/privaudit/privaudit/audit/ingest/ingesttest"
	auditstore "github.com/privaudit/privaudit/audit/store"
	verifier "github.com/privaudit/privaudit/reports/verify"
)

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

// TestScheduledVerifyVerdicts: a `verify: verdicts` schedule fires from its
// cron spec, checks its period, fails its run when a stored verdict
// differs, and publishes the result on the metrics.
func TestScheduledVerifyVerdicts(t *testing.T) {
	env := ingesttest.Start(t, ingesttest.Options{})
	ingestGolden(t, env)
	ctx := context.Background()
	if err := auditstore.BackfillVerdicts(ctx, auditstore.BackfillOptions{Conn: env.Conn, Schema: env.Schema, Logger: env.Log}); err != nil {
		t.Fatal(err)
	}
	// A re-evaluation stored with a wrong verdict.
	const cols = `event_id, occurred_at, occurred_ns, actor_id, actor_type, subject_id, action, data_categories, fields,
		recipient_id, recipient_type, purpose, legal_basis, consent_id, outcome, record_count, channel, jurisdiction,
		request_id, attr_keys, attr_values, ingested_at, ingest_seq, is_disclosure, %s, verdict_consent_id,
		verdict_detail, missing_categories, is_violation, %s, evaluated_at`
	insert := "INSERT INTO privaudit.access_verdicts (" + strings.NewReplacer("%s, verdict_consent", "verdict, verdict_consent", "%s, evaluated", "ledger_position, evaluated").Replace(cols) +
		") SELECT " + strings.NewReplacer("%s, verdict_consent", "'no_consent', verdict_consent", "%s, evaluated", "ledger_position + 1, evaluated").Replace(cols) +
		" FROM privaudit.access_verdicts FINAL WHERE verdict = 'covered' ORDER BY event_id LIMIT 1"
	if err := env.Conn.Exec(ctx, insert); err != nil {
		t.Fatal(err)
	}

	reg := prometheus.NewRegistry()
	job, err := verifier.NewJob(verifier.JobOptions{Conn: env.Conn, Schema: env.Schema, Registerer: reg, Logger: env.Log,
		RecheckAfter: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	logs := &logBuffer{}
	c := Config{Name: "verdicts-check", Cron: "@every 1s", Verify: VerifyVerdicts, Period: Explicit,
		From: "2026-10-01", To: "2026-11-01"}
	s, err := New(Options{Runner: newRunner(t, env, nil), Conn: env.Conn, Schema: env.Schema, Schedules: []Config{c},
		Logger: logs.logger(), Instance: "test", Verify: job.Run})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = s.Stop(sctx)
	})
	deadline := time.Now().Add(2 * time.Minute)
	for {
		if _, ok := gaugeValue(t, reg, "privaudit_verify_verdicts_last_run_timestamp_seconds", c.Name); ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no scheduled verify ran within 2 minutes; log:\n%s", logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	want := map[string]float64{"differing": 1, "missing": 0, "orphaned": 0, "last_run_success": 0}
	for name, v := range want {
		if got, _ := gaugeValue(t, reg, "privaudit_verify_verdicts_"+name, c.Name); got != v {
			t.Errorf("%s = %v, want %v", name, got, v)
		}
	}
	if got, _ := gaugeValue(t, reg, "privaudit_verify_verdicts_checked", c.Name); got < 30 {
		t.Errorf("checked = %v events, want the golden month's", got)
	}
	var failed *Run
	waitFor(t, "the failed run in the history", func() bool {
		for _, r := range runsOf(t, s, c.Name) {
			if r.Status == StatusFailed && r.Trigger == TriggerSchedule {
				failed = &r
				return true
			}
		}
		return false
	})
	if failed.Report != "verify:verdicts" || !strings.Contains(failed.Error, "1 of ") || failed.Rows < 30 || len(failed.Files) != 0 {
		t.Errorf("recorded run: %+v", *failed)
	}
}

// TestVerifyScheduleConfig: a `verify:` schedule takes no report settings
// and names a known check.
func TestVerifyScheduleConfig(t *testing.T) {
	ok := Config{Name: "v", Cron: "@daily", Verify: VerifyVerdicts, Period: PreviousDay}
	if err := Validate([]Config{ok}, nil); err != nil {
		t.Fatalf("valid verify schedule refused: %v", err)
	}
	bad := ok
	bad.Verify, bad.Formats = "reports", []string{"csv"}
	err := Validate([]Config{bad}, nil)
	if err == nil || !strings.Contains(err.Error(), `verify "reports"`) {
		t.Errorf("want an unknown check refused, got %v", err)
	}
	bad = ok
	bad.Report = "disclosures"
	if err := Validate([]Config{bad}, nil); err == nil || !strings.Contains(err.Error(), "[report]") {
		t.Errorf("want report: with verify: refused, got %v", err)
	}
}
