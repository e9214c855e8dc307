package synth

import (
	"bytes"
	"cmp"
	"testing"
	"time"

	"github.com/privaudit/privaudit/audit"
)

// allVerdicts lists every verdict of SPEC §3.
var allVerdicts = audit.VerdictNames()

// TestLabelsMatchReference checks every generated event's intended verdict
// against the domain's evaluator run on the full consent ledger, and
// the mix of verdicts on the default-sized small set.
func TestLabelsMatchReference(t *testing.T) {
	got, rate := checkLabels(t, smallOptions(42))
	for _, v := range allVerdicts {
		if got[v] == 0 {
			t.Errorf("no event with verdict %s", v)
		}
	}
	if rate < 0.005 || rate > 0.02 {
		t.Errorf("violation rate %.4f of consent-based disclosures", rate)
	}
}

// TestLabelsEdgeCases checks the labels on unusual options: a handful of
// customers, a long period with odd bounds, another time zone.
func TestLabelsEdgeCases(t *testing.T) {
	est := time.FixedZone("EST", -5*3600)
	for _, o := range []Options{
		{Seed: 5, Customers: 3, Events: 3000, Now: testNow},
		{Seed: 6, Customers: 1, Events: 500, Now: testNow},
		{Seed: 9, Customers: 500, Events: 20000, Now: testNow, Location: est,
			From: time.Date(2025, 1, 3, 7, 17, 0, 0, est), To: time.Date(2026, 3, 14, 9, 0, 1, 0, time.UTC)},
		{Seed: 10, Customers: 300, Events: 5000, Now: testNow, From: testNow.Add(-90 * time.Minute)},
	} {
		checkLabels(t, o)
	}
}

// checkLabels generates a data set and compares every label with the
// reference verdict. It returns the verdict counts and the violation rate
// among consent-based disclosures.
func checkLabels(t *testing.T, opts Options) (map[string]int, float64) {
	t.Helper()
	evs, cons, st := generate(t, opts)
	consents, err := ReadConsents(bytes.NewReader(cons))
	if err != nil {
		t.Fatal(err)
	}
	ledger := audit.NewLedger(Consents(consents))
	if ledger.Len() != st.Consents {
		t.Fatalf("ledger has %d consent events, stats say %d", ledger.Len(), st.Consents)
	}
	loc := cmp.Or(opts.Location, time.UTC)
	got := map[string]int{}
	consentDisclosures, violations, afterHours, mismatches := 0, 0, 0, 0
	err = ScanEvents(bytes.NewReader(evs), func(e *WireEvent) error {
		want := e.Attributes["synth_expect"]
		de := e.Event()
		ev := ledger.Evaluate(&de)
		v, id := string(ev.Verdict), ev.ConsentID
		got[v]++
		if v != want && mismatches < 20 {
			mismatches++
			t.Errorf("event %s (%s): verdict %s (%s, %s), generator intended %s",
				e.EventID, e.Attributes["synth_scenario"], v, id, ev.Detail, want)
		}
		if ev.Verdict == audit.VerdictCovered && (id == "" || e.ConsentID != "" && id != e.ConsentID) {
			t.Errorf("event %s covered by %q, names %q", e.EventID, id, e.ConsentID)
		}
		if de.IsDisclosure() && e.LegalBasis == "consent" {
			consentDisclosures++
			if ev.Verdict.IsViolation() {
				violations++
			}
		}
		if h := e.OccurredAt.In(loc).Hour(); e.ActorType == "employee" && (h < 8 || h >= 18) {
			afterHours++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range allVerdicts {
		if got[v] != st.ByKind[v] {
			t.Errorf("%s: %d events, stats say %d", v, got[v], st.ByKind[v])
		}
	}
	rate := float64(violations) / float64(max(consentDisclosures, 1))
	t.Logf("verdicts %v; %d of %d consent-based disclosures violate (%.2f%%); %d after-hours employee reads",
		got, violations, consentDisclosures, 100*rate, afterHours)
	if consentDisclosures != st.ConsentDisclosures || violations != st.ExpectedViolations {
		t.Errorf("%d consent-based disclosures, %d violations; stats %+v", consentDisclosures, violations, st)
	}
	if opts.Customers >= 1000 {
		if afterHours == 0 {
			t.Error("no after-hours employee reads")
		}
		checkLate(t, consents, opts)
		checkTies(t, consents)
	}
	return got, rate
}

// checkLate checks that late-recorded consents exist, come last and are
// effective within the period.
func checkLate(t *testing.T, consents []WireConsent, opts Options) {
	o, _ := opts.normalize()
	late, first := 0, -1
	for i, c := range consents {
		if c.Attributes["synth_late"] != "true" {
			if late > 0 {
				t.Fatalf("consent %d recorded on time after a late one", i)
			}
			continue
		}
		if first < 0 {
			first = i
		}
		late++
		if c.EffectiveAt.Before(o.From) || !c.EffectiveAt.Before(o.To) {
			t.Errorf("late consent %s effective at %v, outside the period", c.ConsentID, c.EffectiveAt)
		}
	}
	if late == 0 {
		t.Error("no late-recorded consents")
	}
	if first >= 1 && consents[first-1].EffectiveAt.Before(consents[first].EffectiveAt) {
		t.Log("late consents follow later-effective ones, as intended")
	}
}

// checkTies checks that the ledger has corrected consents: two events of
// one consent with the same effective_at, where ingestion order decides.
func checkTies(t *testing.T, consents []WireConsent) {
	type key struct {
		id string
		at time.Time
	}
	seen := map[key]bool{}
	for _, c := range consents {
		k := key{c.ConsentID, c.EffectiveAt}
		if seen[k] {
			return
		}
		seen[k] = true
	}
	t.Error("no consent with two events effective at the same instant")
}
