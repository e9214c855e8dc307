package reports

import (
	"bytes"
	"context"
	"slices"
	"testing"
	"time"

	"github.com/privaudit/privaudit/audit"
	"github.com/privaudit/privaudit/audit/ingest/ingesttest"
	"github.com/privaudit/privaudit/audit/synth"
)

// TestVerdictsMatchReference generates a realistic data set (the bank ↔
// messaging platform story, with every kind of violation), ingests it and
// checks that the stored verdicts and the SQL verdict engine both agree with
// the domain's evaluator (audit.Ledger) on every single event, detail
// included.
func TestVerdictsMatchReference(t *testing.T) {
	if testing.Short() {
		t.Skip("generates and ingests 30,000 events")
	}
	var events, consents bytes.Buffer
	opts := synth.Options{Seed: 42, Customers: 2000, Events: 30000, From: octFrom, To: octTo,
		Now: time.Date(2026, 11, 15, 0, 0, 0, 0, time.UTC)}
	if _, err := synth.Generate(context.Background(), opts, &events, &consents); err != nil {
		t.Fatal(err)
	}
	ledger, err := synth.ReadConsents(bytes.NewReader(consents.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	env := ingesttest.Start(t, ingesttest.Options{})
	env.Ingest(t, audit.KindConsents, consents.String())
	env.Ingest(t, audit.KindEvents, events.String())
	paths := map[string]map[string]verdictRow{
		"stored": storedVerdicts(t, env.Conn, env.Schema, octFrom, octTo),
		"engine": evaluatedVerdicts(t, env.Conn, env.Schema, octFrom, octTo),
	}

	ref := audit.NewLedger(synth.Consents(ledger))
	n := 0
	mismatches := map[string]int{}
	byVerdict := map[string]int{}
	err = synth.ScanEvents(bytes.NewReader(events.Bytes()), func(e *synth.WireEvent) error {
		n++
		de := e.Event()
		ev := ref.Evaluate(&de)
		v, id, detail := string(ev.Verdict), ev.ConsentID, ev.Detail
		byVerdict[v]++
		for path, got := range paths {
			g := got[e.EventID]
			if g.Verdict != v || g.ConsentID != id || !slices.Equal(g.Missing, ev.Missing) || g.Detail != detail {
				mismatches[path]++
				if mismatches[path] <= 10 {
					t.Errorf("event %s: %s %s %q %q %q, reference %s %q %q %q", e.EventID, path, g.Verdict, g.ConsentID, g.Missing, g.Detail,
						v, id, ev.Missing, detail)
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for path, got := range paths {
		if n != len(got) || n != 30000 {
			t.Errorf("reference saw %d events, %s %d, want 30000", n, path, len(got))
		}
		if mismatches[path] > 0 {
			t.Errorf("%d of %d %s verdicts differ from the reference", mismatches[path], n, path)
		}
	}
	if len(byVerdict) < 9 {
		t.Errorf("the generated set exercises only %d verdicts: %v", len(byVerdict), byVerdict)
	}
	t.Logf("%d events, %d consent events; verdicts %v", n, len(ledger), byVerdict)
}
