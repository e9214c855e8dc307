package retention_test

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/privaudit/privaudit/audit/chserver"
	"github.com/privaudit/privaudit/audit/retention"
	"github.com/privaudit/privaudit/audit/store"
	"github.com/privaudit/privaudit/queries"
)

// now is the fake clock of these tests: with 3 months' retention the
// partitions 202605 and 202608 are past it, 202609 and 202612 are not.
var now = time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)

// env is a managed ClickHouse with the schema applied and one access event
// and one consent event in each of four months; subject s-held's records
// are in May 2026 only.
func env(t *testing.T) (context.Context, driver.Conn, queries.Schema) {
	t.Helper()
	if testing.Short() {
		t.Skip("starts a managed ClickHouse")
	}
	ctx := context.Background()
	ch, err := chserver.Start(ctx, chserver.Options{Dir: filepath.Join(t.TempDir(), "ch")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ch.Stop(context.Background()) })
	conn, err := store.Open(ctx, store.Options{Addrs: []string{ch.Addr}, User: ch.AdminUser, Password: ch.AdminPassword})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	s := queries.DefaultSchema
	if err := store.Migrate(ctx, conn, s, nil); err != nil {
		t.Fatal(err)
	}
	rows := []struct{ id, at, subject string }{
		{"e1", "2026-05-10 08:00:00", "s-held"}, {"e2", "2026-05-20 08:00:00", "s-other"},
		{"e3", "2026-08-17 08:00:00", "s-other"}, {"e4", "2026-09-02 08:00:00", "s-other"},
		{"e5", "2026-12-01 08:00:00", "s-held"},
	}
	for _, r := range rows {
		if err := conn.Exec(ctx, "INSERT INTO privaudit.access_events (event_id, occurred_at, subject_id) SELECT ?, toDateTime(?, 'UTC'), ?", r.id, r.at, r.subject); err != nil {
			t.Fatal(err)
		}
		if err := conn.Exec(ctx, "INSERT INTO privaudit.consent_events (consent_event_id, effective_at, subject_id) SELECT ?, toDateTime(?, 'UTC'), ?", "c"+r.id, r.at, r.subject); err != nil {
			t.Fatal(err)
		}
	}
	return ctx, conn, s
}

// job is a retention job keeping the event tables 3 months (the test-only
// override) and every other table forever.
func job(t *testing.T, conn driver.Conn, s queries.Schema, reg prometheus.Registerer, crash func(string, retention.Drop) error) *retention.Job {
	t.Helper()
	p := retention.Policy{}
	for _, tb := range retention.Tables {
		p[tb.Name] = 0
	}
	p["access_events"], p["consent_events"] = 3, 3
	j, err := retention.NewJob(retention.Options{Conn: conn, Schema: s, Policy: p, AllowShortRetention: true,
		Instance: "test", Registerer: reg, Now: func() time.Time { return now }, Crash: crash})
	if err != nil {
		t.Fatal(err)
	}
	return j
}

// partitions lists the active partitions of privaudit.table.
func partitions(t *testing.T, ctx context.Context, conn driver.Conn, table string) []string {
	t.Helper()
	rows, err := conn.Query(ctx, "SELECT DISTINCT partition_id FROM system.parts WHERE database = 'privaudit' AND table = ? AND active ORDER BY partition_id", table)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var p string
		if err := rows.Scan(&p); err != nil {
			t.Fatal(err)
		}
		out = append(out, p)
	}
	return out
}

func wantPartitions(t *testing.T, ctx context.Context, conn driver.Conn, want ...string) {
	t.Helper()
	for _, table := range []string{"access_events", "consent_events"} {
		if got := partitions(t, ctx, conn, table); !slices.Equal(got, want) {
			t.Fatalf("%s partitions %v, want %v", table, got, want)
		}
	}
}

// drops returns the recorded decisions of status about access_events.
func drops(t *testing.T, ctx context.Context, conn driver.Conn, s queries.Schema, status string) []retention.Drop {
	t.Helper()
	all, err := retention.Drops(ctx, conn, s)
	if err != nil {
		t.Fatal(err)
	}
	var out []retention.Drop
	for _, d := range all {
		if d.Table == "access_events" && d.Status == status {
			out = append(out, d)
		}
	}
	return out
}

// TestRetentionDropsOldPartitionsAndRecordsThem: partitions past the
// retention are dropped, recent ones kept, each drop recorded done with its
// month, its rows and time range, and counted on the metric.
func TestRetentionDropsOldPartitionsAndRecordsThem(t *testing.T) {
	ctx, conn, s := env(t)
	reg := prometheus.NewRegistry()
	if err := job(t, conn, s, reg, nil).Run(ctx); err != nil {
		t.Fatal(err)
	}
	wantPartitions(t, ctx, conn, "202609", "202612")
	done := drops(t, ctx, conn, s, retention.StatusDone)
	if len(done) != 2 {
		t.Fatalf("recorded drops of access_events %+v, want 2", done)
	}
	slices.SortFunc(done, func(a, b retention.Drop) int { return strings.Compare(a.Partition, b.Partition) })
	may := done[0]
	if may.Partition != "202605" || may.Rows != 2 || !may.From.Equal(time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)) ||
		!may.To.Equal(time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)) || may.MinTime.UTC().Format(time.DateTime) != "2026-05-10 08:00:00" ||
		may.MaxTime.UTC().Format(time.DateTime) != "2026-05-20 08:00:00" || may.Months != 3 || may.Instance != "test" || may.DoneAt.IsZero() {
		t.Fatalf("drop of May recorded as %+v", may)
	}
	if got := metric(t, reg, "privaudit_retention_partitions_dropped_total"); got != 4 {
		t.Fatalf("privaudit_retention_partitions_dropped_total %v, want 4 (two months of two tables)", got)
	}
	if got := metric(t, reg, "privaudit_retention_last_run_unixtime"); got == 0 {
		t.Fatal("privaudit_retention_last_run_unixtime not set after a run")
	}
}

// metric returns the value of the counter or gauge name registered in reg.
func metric(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			m := mf.GetMetric()[0]
			if m.GetCounter() != nil {
				return m.GetCounter().GetValue()
			}
			return m.GetGauge().GetValue()
		}
	}
	t.Fatalf("metric %s not registered", name)
	return 0
}

// TestRetentionSubjectHold: a partition holding a held subject's record is
// kept, and the keeping recorded with the hold; it is dropped once the hold
// is lifted.
func TestRetentionSubjectHold(t *testing.T) {
	ctx, conn, s := env(t)
	j := job(t, conn, s, nil, nil)
	h, err := j.Holds().Set(ctx, retention.Hold{SubjectID: "s-held", Reason: "matter 42"}, "admin-alice", now)
	if err != nil {
		t.Fatal(err)
	}
	// A hold of a subject with no record in May does not keep May.
	other, err := j.Holds().Set(ctx, retention.Hold{SubjectID: "s-absent", Reason: "matter 43"}, "admin-alice", now)
	if err != nil {
		t.Fatal(err)
	}
	if err := j.Run(ctx); err != nil {
		t.Fatal(err)
	}
	wantPartitions(t, ctx, conn, "202605", "202609", "202612")
	kept := drops(t, ctx, conn, s, retention.StatusKept)
	if len(kept) != 1 || kept[0].Partition != "202605" || kept[0].Detail != "subject hold "+h.ID || strings.Contains(kept[0].Detail, other.ID) {
		t.Fatalf("kept partitions recorded as %+v, want 202605 naming hold %s", kept, h.ID)
	}
	if _, err := j.Holds().Lift(ctx, h.ID, "admin-alice", "matter closed", now); err != nil {
		t.Fatal(err)
	}
	if err := j.Run(ctx); err != nil {
		t.Fatal(err)
	}
	wantPartitions(t, ctx, conn, "202609", "202612")
}

// TestRetentionPeriodHold: a partition overlapping a held period is kept
// whoever's records it holds, and dropped once the hold is lifted.
func TestRetentionPeriodHold(t *testing.T) {
	ctx, conn, s := env(t)
	j := job(t, conn, s, nil, nil)
	h, err := j.Holds().Set(ctx, retention.Hold{From: time.Date(2026, 8, 30, 0, 0, 0, 0, time.UTC),
		To: time.Date(2026, 9, 3, 0, 0, 0, 0, time.UTC), Reason: "regulator inquiry"}, "admin-alice", now)
	if err != nil {
		t.Fatal(err)
	}
	if err := j.Run(ctx); err != nil {
		t.Fatal(err)
	}
	wantPartitions(t, ctx, conn, "202608", "202609", "202612")
	if _, err := j.Holds().Lift(ctx, h.ID, "admin-alice", "closed", now); err != nil {
		t.Fatal(err)
	}
	if err := j.Run(ctx); err != nil {
		t.Fatal(err)
	}
	wantPartitions(t, ctx, conn, "202609", "202612")
}

// TestRetentionCrashIsRolledForward: a crash after the intent (before or
// after the DROP) leaves an intent that the next run finishes: the
// partition is gone and its drop recorded done once, with its rows.
func TestRetentionCrashIsRolledForward(t *testing.T) {
	for _, stage := range []string{retention.StageIntent, retention.StageDropped} {
		t.Run(stage, func(t *testing.T) {
			ctx, conn, s := env(t)
			crashed := errors.New("crash")
			var first string
			crash := func(st string, d retention.Drop) error {
				if st == stage && first == "" {
					first = d.ID
					return crashed
				}
				return nil
			}
			if err := job(t, conn, s, nil, crash).Run(ctx); !errors.Is(err, crashed) {
				t.Fatalf("run with a crash at %s: %v", stage, err)
			}
			if open := drops(t, ctx, conn, s, retention.StatusIntent); len(open) != 1 || open[0].ID != first {
				t.Fatalf("after the crash the intents are %+v, want %s", open, first)
			}
			if err := job(t, conn, s, nil, nil).Run(ctx); err != nil {
				t.Fatal(err)
			}
			wantPartitions(t, ctx, conn, "202609", "202612")
			if open := drops(t, ctx, conn, s, retention.StatusIntent); len(open) != 0 {
				t.Fatalf("intents left unfinished after the restart: %+v", open)
			}
			done := drops(t, ctx, conn, s, retention.StatusDone)
			if len(done) != 2 || !slices.ContainsFunc(done, func(d retention.Drop) bool { return d.ID == first && d.Rows == 2 }) {
				t.Fatalf("drops recorded done %+v, want 2 with the interrupted %s (2 rows)", done, first)
			}
		})
	}
}

// TestPolicyRefusesShortRecordRetention: a record table kept less than 36
// months is refused naming the rule, by the policy and by NewJob unless the
// test-only override is set.
func TestPolicyRefusesShortRecordRetention(t *testing.T) {
	p := retention.Policy{"consent_events": 35, "report_runs": 6}
	err := p.Validate()
	if err == nil || !strings.Contains(err.Error(), "12 CFR 1033.441") || !strings.Contains(err.Error(), "consent_events") ||
		strings.Contains(err.Error(), "report_runs") {
		t.Fatalf("policy %v: %v", p, err)
	}
	if _, err := retention.NewJob(retention.Options{Policy: p}); err == nil {
		t.Fatal("NewJob accepted 35 months for consent_events")
	}
	if err := (retention.Policy{"access_events": 36, "access_verdicts": 0}).Validate(); err != nil {
		t.Fatalf("36 months and forever refused: %v", err)
	}
}

// TestRetentionIntentCancelledByHoldSetSince: an intent left by a crash
// before its DROP is not carried out when a hold set since keeps the
// partition: it is recorded cancelled and the partition stays.
func TestRetentionIntentCancelledByHoldSetSince(t *testing.T) {
	ctx, conn, s := env(t)
	crashed := errors.New("crash")
	crash := func(st string, d retention.Drop) error {
		if st == retention.StageIntent {
			return crashed
		}
		return nil
	}
	if err := job(t, conn, s, nil, crash).Run(ctx); !errors.Is(err, crashed) {
		t.Fatalf("run with a crash: %v", err)
	}
	open := drops(t, ctx, conn, s, retention.StatusIntent)
	if len(open) != 1 || open[0].Partition != "202605" {
		t.Fatalf("intents after the crash %+v, want one for 202605", open)
	}
	j := job(t, conn, s, nil, nil)
	h, err := j.Holds().Set(ctx, retention.Hold{SubjectID: "s-held", Reason: "matter 44"}, "admin-alice", now)
	if err != nil {
		t.Fatal(err)
	}
	if err := j.Run(ctx); err != nil {
		t.Fatal(err)
	}
	if got := partitions(t, ctx, conn, "access_events"); !slices.Equal(got, []string{"202605", "202609", "202612"}) {
		t.Fatalf("access_events partitions %v, want May kept under the hold", got)
	}
	c := drops(t, ctx, conn, s, retention.StatusCancelled)
	if len(c) != 1 || c[0].ID != open[0].ID || !strings.Contains(c[0].Detail, h.ID) {
		t.Fatalf("cancelled intents %+v, want %s naming hold %s", c, open[0].ID, h.ID)
	}
}
