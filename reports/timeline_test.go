package reports

import (
	"context"
	"slices"
	"testing"

	"github.com/privaudit/privaudit/audit/ingest/ingesttest"
)

// The planted customer's consent 7c1e…0a and its changes
// (testdata/customer_consents.ndjson), and the disclosure after its
// withdrawal (testdata/customer_events.ndjson).
const (
	plantedGrant      = "c1000000-0000-4000-8000-000000000001"
	plantedNarrowing  = "c1000000-0000-4000-8000-000000000002"
	plantedWithdrawal = "c1000000-0000-4000-8000-000000000003"
	afterWithdrawal   = "e1000000-0000-4000-8000-000000000010"
)

func timelineOf(t *testing.T, r *Runner, subject string) Timeline {
	t.Helper()
	tl, err := r.Timeline(context.Background(), TimelineRequest{SubjectID: subject, From: octFrom, To: octTo, Actor: "test-officer", Channel: "console"})
	if err != nil {
		t.Fatalf("timeline of %s: %v", subject, err)
	}
	return tl
}

// decides returns the Decides of the entry id.
func decides(t *testing.T, tl Timeline, id string) []string {
	t.Helper()
	for _, e := range tl.Entries {
		if e.ID == id {
			return e.Decides
		}
	}
	t.Fatalf("no entry %s on the timeline %v", id, tl.Entries)
	return nil
}

// TestCustomerTimeline: the planted customer's timeline is the
// subject-access report's rows, row for row; each access whose verdict a
// consent decided links the change in force at it, and each consent change
// lists exactly those accesses: the withdrawal lists the later disclosure
// that became consent_withdrawn, the narrowing the advertising share it no
// longer covered. The lookup is recorded as a run of the report under the
// officer's name with the customer as subject, its digest the csv's.
func TestCustomerTimeline(t *testing.T) {
	env := plantedEnv(t)
	rec := &recorder{}
	r := newTestRunner(t, env, rec.record)
	tl := timelineOf(t, r, planted)

	recs, csvRun := runCSV(t, r, SubjectAccess, map[string]string{"subject_id": planted})
	if len(tl.Entries) != len(recs)-1 {
		t.Fatalf("timeline has %d entries, the report %d rows", len(tl.Entries), len(recs)-1)
	}
	idx := map[string]int{}
	for i, h := range recs[0] {
		idx[h] = i
	}
	for i, e := range tl.Entries {
		row := recs[i+1]
		if e.Kind != row[idx["record_type"]] || e.ID != row[idx["event_id"]] || e.Verdict != row[idx["verdict"]] ||
			e.ConsentID != row[idx["consent_id"]] || e.Action != row[idx["action"]] {
			t.Errorf("entry %d %v differs from report row %v", i, e, row)
		}
	}
	if tl.Run.SHA256 != csvRun.SHA256 || tl.Run.Rows != csvRun.Rows {
		t.Errorf("timeline run %d rows sha %s, the csv %d rows sha %s", tl.Run.Rows, tl.Run.SHA256, csvRun.Rows, csvRun.SHA256)
	}

	if got := decides(t, tl, plantedWithdrawal); !slices.Equal(got, []string{afterWithdrawal}) {
		t.Errorf("the withdrawal decided %v, want the disclosure after it %s", got, afterWithdrawal)
	}
	if got, want := decides(t, tl, plantedNarrowing), []string{"e1000000-0000-4000-8000-000000000008"}; !slices.Equal(got, want) {
		t.Errorf("the narrowing decided %v, want %v", got, want)
	}
	if got := decides(t, tl, plantedGrant); len(got) != 2 {
		t.Errorf("the grant decided %v, want the two accesses before the narrowing", got)
	}
	linked := 0
	for _, e := range tl.Entries {
		if e.ID == afterWithdrawal && (e.Verdict != "consent_withdrawn" || e.DecidedBy != plantedWithdrawal) {
			t.Errorf("disclosure after the withdrawal: verdict %s decided by %q", e.Verdict, e.DecidedBy)
		}
		if e.Kind == EntryAccess && LedgerDecided(e.Verdict) != (e.DecidedBy != "") {
			t.Errorf("access %v: decided by %q", e, e.DecidedBy)
		}
		if e.DecidedBy != "" && !slices.Contains(decides(t, tl, e.DecidedBy), e.ID) {
			t.Errorf("access %v names %s, which does not list it", e, e.DecidedBy)
		}
		linked += len(e.Decides)
	}
	if linked == 0 {
		t.Fatal("no consent change decided anything")
	}

	var found bool
	for _, ev := range rec.evs {
		attrs := map[string]string{}
		for i, k := range ev.AttrKeys {
			attrs[k] = ev.AttrValues[i]
		}
		if ev.EventID == tl.Run.EventID {
			found = true
			if ev.ActorID != "test-officer" || ev.SubjectID != planted || ev.Channel != "console" || attrs["format"] != FormatView ||
				attrs["report"] != SubjectAccess || attrs["sha256"] != csvRun.SHA256 {
				t.Errorf("lookup recorded as %+v", ev)
			}
		}
	}
	if !found {
		t.Errorf("the lookup %s was not recorded; recorded %d events", tl.Run.EventID, len(rec.evs))
	}
}

// TestTimelineChangeAtTheInstant: an access at the very instant a consent
// is withdrawn is decided by the withdrawal (in force from its effective
// time), though the report lists accesses first at one instant; the access
// a millisecond before is the grant's. A refused request naming a consent
// was not decided by it: the consent's grant does not list it.
func TestTimelineChangeAtTheInstant(t *testing.T) {
	env := goldenEnv(t, ingesttest.Options{})
	r := newTestRunner(t, env, nil)
	refused := "e0000000-0000-4000-8000-000000000026"
	for _, e := range timelineOf(t, r, "cust-01").Entries {
		if slices.Contains(e.Decides, refused) || (e.ID == refused && (e.Verdict != "denied" || e.DecidedBy != "")) {
			t.Errorf("the refused request naming c-basic is linked to its consent: %v decides %v, decided by %q", e, e.Decides, e.DecidedBy)
		}
	}
	tl := timelineOf(t, r, "cust-03")
	grant, withdrawal := "c0000000-0000-4000-8000-000000000003", "c0000000-0000-4000-8000-000000000004"
	if got := decides(t, tl, withdrawal); !slices.Equal(got, []string{"e0000000-0000-4000-8000-000000000005"}) {
		t.Errorf("withdrawal decided %v, want the access at its instant; timeline %v", got, tl.Entries)
	}
	if got := decides(t, tl, grant); !slices.Contains(got, "e0000000-0000-4000-8000-000000000006") {
		t.Errorf("grant decided %v, want the access a millisecond before the withdrawal", got)
	}
}

// TestTimelineUnknownCustomer: a subject_id nothing is recorded about gives
// an empty timeline, and the lookup is still recorded.
func TestTimelineUnknownCustomer(t *testing.T) {
	env := plantedEnv(t)
	rec := &recorder{}
	tl := timelineOf(t, newTestRunner(t, env, rec.record), "cust-p1anted")
	if len(tl.Entries) != 0 || tl.Run.Rows != 0 || tl.Run.EventID == "" || len(rec.evs) != 1 {
		t.Errorf("unknown customer: %d entries, run %+v, %d recorded", len(tl.Entries), tl.Run, len(rec.evs))
	}
}

// TestTimelineLimit: a limit keeps the oldest rows and counts the rest,
// which were still read and are recorded as revealed.
func TestTimelineLimit(t *testing.T) {
	env := plantedEnv(t)
	r := newTestRunner(t, env, nil)
	all := timelineOf(t, r, planted)
	tl, err := r.Timeline(context.Background(), TimelineRequest{SubjectID: planted, From: octFrom, To: octTo, Actor: "test-officer", Limit: 3})
	if err != nil {
		t.Fatal(err)
	}
	if len(tl.Entries) != 3 || tl.Omitted != int64(len(all.Entries)-3) || tl.Run.Rows != int64(len(all.Entries)) ||
		tl.Entries[2].ID != all.Entries[2].ID {
		t.Errorf("limit 3 of %d: %d entries, %d omitted, run %d rows", len(all.Entries), len(tl.Entries), tl.Omitted, tl.Run.Rows)
	}
}
