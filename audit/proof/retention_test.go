package proof_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/privaudit/privaudit/audit"
	"github.com/privaudit/privaudit/audit/ingest/ingesttest"
	"github.com/privaudit/privaudit/audit/retention"
)

// TestVerifyRetentionIsNotTampering: the retention job (fake clock) drops
// January 2020 while a legal hold on one subject keeps February 2020 with
// that subject's rows; verify stays clean, counts the dropped records as
// retention and lists the sealed drops. Once a drop's seal is altered, its
// records are deleted again in verify's eyes.
func TestVerifyRetentionIsNotTampering(t *testing.T) {
	e := startLog(t)
	ctx := context.Background()
	jan, feb, now := time.Date(2020, 1, 10, 8, 0, 0, 0, time.UTC), time.Date(2020, 2, 10, 8, 0, 0, 0, time.UTC), time.Date(2026, 10, 5, 8, 0, 0, 0, time.UTC)
	var events, consents []string
	for i := range 4 {
		events = append(events, ingesttest.WireEvent(fmt.Sprintf("jan-%d", i), fmt.Sprintf("s-%d", i), "acme", "marketing", "", jan.Add(time.Duration(i)*time.Hour), "contact"),
			ingesttest.WireEvent(fmt.Sprintf("now-%d", i), fmt.Sprintf("s-%d", i), "acme", "marketing", "", now.Add(time.Duration(i)*time.Hour), "contact"))
		consents = append(consents, ingesttest.WireConsent(fmt.Sprintf("cjan-%d", i), fmt.Sprintf("k-%d", i), fmt.Sprintf("s-%d", i), "acme", "withdrawn", jan,
			[]string{"marketing"}, []string{"contact"}))
	}
	events = append(events, ingesttest.WireEvent("feb-held", "s-held", "acme", "marketing", "", feb, "contact"),
		ingesttest.WireEvent("feb-other", "s-1", "acme", "marketing", "", feb, "contact"))
	e.Ingest(t, audit.KindEvents, strings.Join(events, "\n"))
	e.Ingest(t, audit.KindConsents, strings.Join(consents, "\n"))
	e.checkpoint(t)

	p := retention.DefaultPolicy()
	for _, tb := range retention.Tables {
		p[tb.Name] = 0
	}
	p["access_events"], p["consent_events"] = 36, 36
	clock := time.Date(2026, 12, 15, 0, 0, 0, 0, time.UTC)
	job, err := retention.NewJob(retention.Options{Conn: e.Conn, Schema: e.Schema, Policy: p, Instance: "test",
		Now: func() time.Time { return clock }, Key: e.key})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := job.Holds().Set(ctx, retention.Hold{Kind: "subject", SubjectID: "s-held", Reason: "matter 7"}, "carol", clock); err != nil {
		t.Fatal(err)
	}
	if err := job.Run(ctx); err != nil {
		t.Fatal(err)
	}
	if n := e.Count(t, "SELECT count() FROM "+e.Schema.DB+".access_events WHERE toYYYYMM(occurred_at) = 202001"); n != 0 {
		t.Fatalf("January 2020 still holds %d events: the job did not drop it", n)
	}
	if n := e.Count(t, "SELECT count() FROM "+e.Schema.DB+".access_events WHERE toYYYYMM(occurred_at) = 202002"); n != 2 {
		t.Fatalf("February 2020 holds %d events, want both kept under the hold", n)
	}
	res := e.verify(t, e.verifier)
	var dropped []string
	for _, d := range res.Drops {
		dropped = append(dropped, d.Table+"/"+d.Partition)
	}
	slices.Sort(dropped)
	if !res.Clean() || !res.Digest || res.Retained != 8 || !slices.Equal(dropped, []string{"access_events/202001", "consent_events/202001"}) || res.Records != 6 {
		t.Fatalf("after retention: findings %q, by digest %v, retained %d, drops %v, records %d; want clean by digest, 8 retained in January's two drops, 6 records",
			names(t, res), res.Digest, res.Retained, dropped, res.Records)
	}

	var drop audit.SealedDrop
	for _, d := range res.Drops {
		if d.Table == "access_events" {
			drop = d
		}
	}
	e.exec(t, "ALTER TABLE "+e.Schema.MetaDB+".retention_drops UPDATE signature = replaceOne(signature, 'row_count 4', 'row_count 3') WHERE drop_id = ?", drop.DropID)
	got := names(t, e.verify(t, e.verifier))
	want := []string{"drop_unsealed access_events " + drop.DropID}
	for i := range 4 {
		want = append(want, "deleted access_events "+ingesttest.UID(fmt.Sprintf("jan-%d", i)))
	}
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("after a drop's seal was altered:\n got %q\nwant %q", got, want)
	}
}

// TestRetentionHoldsWritesBackWhileItDrops: an event of the month being
// dropped arrives between the drop's seal and its DROP. The job holds the
// intake's writes back meanwhile (retention.Options.Pause), so the event
// is stored after the drop, in a partition of its own, and verify stays
// clean. Without the pause it was stored in time to be dropped unsealed:
// verify called it deleted.
func TestRetentionHoldsWritesBackWhileItDrops(t *testing.T) {
	e := startLog(t)
	ctx := context.Background()
	jan := time.Date(2020, 1, 10, 8, 0, 0, 0, time.UTC)
	var events []string
	for i := range 4 {
		events = append(events, ingesttest.WireEvent(fmt.Sprintf("jan-%d", i), fmt.Sprintf("s-%d", i), "acme", "marketing", "", jan.Add(time.Duration(i)*time.Hour), "contact"))
	}
	e.Ingest(t, audit.KindEvents, strings.Join(events, "\n"))
	e.checkpoint(t)
	late := ingesttest.UID("jan-late")
	stored := func() uint64 {
		return e.Count(t, "SELECT count() FROM "+e.Schema.DB+".access_events WHERE event_id = ?", late)
	}
	arrive := func(stage string, d retention.Drop) error {
		if stage != retention.StageIntent || d.Table != "access_events" {
			return nil
		}
		if code, body := e.Post(t, audit.KindEvents, ingesttest.WireEvent("jan-late", "s-9", "acme", "marketing", "", jan, "contact")); code/100 != 2 {
			t.Errorf("late event: %d %s", code, body)
		}
		for deadline := time.Now().Add(5 * time.Second); stored() == 0 && time.Now().Before(deadline); {
			time.Sleep(50 * time.Millisecond)
		}
		return nil
	}
	p := retention.DefaultPolicy()
	for _, tb := range retention.Tables {
		p[tb.Name] = 0
	}
	p["access_events"] = 36
	clock := time.Date(2026, 12, 15, 0, 0, 0, 0, time.UTC)
	job, err := retention.NewJob(retention.Options{Conn: e.Conn, Schema: e.Schema, Policy: p, Instance: "test",
		Now: func() time.Time { return clock }, Key: e.key, Crash: arrive, Pause: e.Ingestor.ProofLog().Pause})
	if err != nil {
		t.Fatal(err)
	}
	if err := job.Run(ctx); err != nil {
		t.Fatal(err)
	}
	e.WaitStored(t)
	res := e.verify(t, e.verifier)
	if !res.Clean() || res.Retained != 4 || stored() != 1 {
		t.Fatalf("event arriving during the drop: findings %q, retained %d, stored %d; want clean, the 4 January events retained, the late one stored once",
			names(t, res), res.Retained, stored())
	}
}
