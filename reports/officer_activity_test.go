package reports

import (
	"bytes"
	"context"
	"encoding/csv"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/privaudit/privaudit/audit"
	"github.com/privaudit/privaudit/audit/ingest/ingesttest"
)

// plantTrail records, on 10 October 2026, the actions of officer alice the
// way privaudit's writers record them — a report run over the API, a run
// of schedule monthly she started by hand, a download of its file and a
// refused saved query, an ad-hoc query — beside the same schedule's cron run and an event
// of the bank's own that merely shares the purpose. It waits until they
// are stored.
func plantTrail(t *testing.T, env *ingesttest.Env) {
	t.Helper()
	at := time.Date(2026, 10, 10, 9, 0, 0, 0, time.UTC)
	r, err := NewRunner(Options{Conn: env.Conn, Schema: env.Schema, Recorder: env.Ingestor.Record, Version: "test",
		Logger: env.Log, Now: func() time.Time { return at }})
	if err != nil {
		t.Fatal(err)
	}
	sched := map[string]string{"schedule": "monthly", "run_id": "run-1"}
	for _, rr := range []RunRequest{
		{Report: "subject-access", Params: map[string]string{"subject_id": "cust-01"}, Filters: map[string]string{"recipient": "acme"}, Actor: "alice"},
		{Report: "disclosures", Actor: "alice", ActorType: audit.TrailActorType, Channel: audit.TrailChannelManual, Attrs: sched},
		{Report: "disclosures", Actor: "schedule:monthly", ActorType: "system", Channel: audit.TrailChannelSchedule, Attrs: sched},
	} {
		rr.From, rr.To, rr.Format, rr.Out = octFrom, octTo, "csv", io.Discard
		if _, err := r.Run(context.Background(), rr); err != nil {
			t.Fatal(err)
		}
	}
	trail := func(purpose, channel, recipient string, outcome string, kv ...string) audit.Event {
		ev := audit.Event{EventID: uuid.NewString(), OccurredAt: at, ActorID: "alice", ActorType: audit.TrailActorType,
			SubjectID: RunSubjectAll, Action: "read", DataCategories: []string{audit.TrailDataCategory},
			RecipientID: recipient, RecipientType: audit.TrailRecipient, Purpose: purpose, LegalBasis: audit.TrailLegalBasis,
			Outcome: outcome, RecordCount: 7, Channel: channel}
		for i := 0; i < len(kv); i += 2 {
			ev.AttrKeys, ev.AttrValues = append(ev.AttrKeys, kv[i]), append(ev.AttrValues, kv[i+1])
		}
		return ev
	}
	evs := []audit.Event{
		trail(audit.TrailPurposeReport, audit.TrailChannelRunFile, audit.TrailRecipient, "allowed",
			"file", "disclosures.csv", "format", "csv", "run_id", "run-1", "schedule", "monthly"),
		trail(audit.TrailPurposeQuery, audit.TrailChannelAPI, audit.TrailRecipient, "denied",
			"error", "busy", "params", "customer,since", "saved", "subject-recipients", "status", "refused"),
		trail(audit.TrailPurposeQuery, audit.TrailChannelAPI, audit.TrailRecipient, "allowed", "sql", "SELECT 1", "status", "ok"),
		trail(audit.TrailPurposeQuery, audit.TrailChannelAPI, "warehouse", "allowed"),
	}
	bob := trail(audit.TrailPurposeQuery, audit.TrailChannelAPI, audit.TrailRecipient, "allowed", "sql", "SELECT 2", "status", "ok")
	bob.ActorID = "bob"
	evs = append(evs, bob)
	if err := env.Ingestor.Record(context.Background(), evs...); err != nil {
		t.Fatal(err)
	}
	env.WaitStored(t)
}

// TestOfficerActivity: the report lists each of alice's actions once,
// under her name, with its activity, object, parameters' names and result;
// the schedule's cron run and the event that merely shares the purpose are
// left out; the summary counts actions per officer and activity.
func TestOfficerActivity(t *testing.T) {
	env := goldenEnv(t, ingesttest.Options{})
	plantTrail(t, env)
	r := newTestRunner(t, env, nil)
	want := []string{
		"alice|ad-hoc query||||ok",
		"alice|report run|subject-access||filter.recipient;subject_id|ok",
		"alice|run-file download|disclosures.csv|monthly||ok",
		"alice|saved query|subject-recipients||customer;since|refused: busy",
		"alice|schedule run by hand|disclosures|monthly||ok",
	}
	recs, _ := runCSV(t, r, "officer-activity", nil)
	if got := activityRows(recs); !slices.Equal(got, append(slices.Clone(want), "bob|ad-hoc query||||ok")) {
		t.Errorf("officer activity:\n%s\nwant alice's and bob's:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	var buf bytes.Buffer
	if _, err := r.Run(context.Background(), RunRequest{Report: "officer-activity", From: octFrom, To: octTo,
		Filters: map[string]string{"actor": "alice"}, Format: "csv", Actor: "t", Out: &buf}); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if got := activityRows(recs); !slices.Equal(got, want) {
		t.Errorf("officer activity of alice (filter actor=alice):\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// activityRows are the rows of an officer-activity csv as
// actor|activity|what|schedule|parameters|result, sorted.
func activityRows(recs [][]string) []string {
	var got []string
	for _, rec := range recs[1:] {
		row := map[string]string{}
		for i, h := range recs[0] {
			row[h] = rec[i]
		}
		got = append(got, strings.Join([]string{row["actor_id"], row["activity"], row["what"], row["schedule"],
			row["parameters"], row["result"]}, "|"))
	}
	slices.Sort(got)
	return got
}
