package audit

import (
	"strconv"
	"testing"
	"time"
)

// benchHistory is one customer's consents to one recipient as a writer
// would read them: consents consents of eventsEach events each (a grant,
// narrowings, a withdrawal, a re-grant), in storage order.
func benchHistory(consents, eventsEach int) []LedgerEntry {
	var out []LedgerEntry
	for c := range consents {
		id := "consent-" + strconv.Itoa(c)
		for i := range eventsEach {
			at := time.Duration(c*eventsEach+i) * time.Hour
			ev := grantAt("ce-"+id+"-"+strconv.Itoa(i), id, "cust-1", "msgplatform", at,
				"fraud_alert,balance_inquiry", "account_balance,card_transactions")
			if i%3 == 2 {
				ev = withdrawAt(ev.ConsentEventID, id, "cust-1", "msgplatform", at)
			}
			out = append(out, LedgerEntry{Consent: &ev, Seq: uint64(len(out))})
		}
	}
	return out
}

// BenchmarkConsentHistoryEvaluate evaluates access events against one
// customer's consent history (4 consents of 4 events): the work a writer
// does per stored event. The figure is in the README (Where the verdict
// rules live).
func BenchmarkConsentHistoryEvaluate(b *testing.B) {
	h := NewConsentHistory(benchHistory(4, 4))
	at := ledgerT0.Add(13*time.Hour + 30*time.Minute)
	cases := []struct {
		name string
		e    Event
	}{
		{"pair_covered", Event{OccurredAt: at, SubjectID: "cust-1", RecipientID: "msgplatform", Purpose: "fraud_alert",
			LegalBasis: "consent", Outcome: "allowed", DataCategories: []string{"account_balance"}}},
		{"named_covered", Event{OccurredAt: at, SubjectID: "cust-1", RecipientID: "msgplatform", Purpose: "fraud_alert",
			LegalBasis: "consent", Outcome: "allowed", ConsentID: "consent-3", DataCategories: []string{"account_balance"}}},
		{"pair_purpose_not_covered", Event{OccurredAt: at, SubjectID: "cust-1", RecipientID: "msgplatform",
			Purpose: "advertising", LegalBasis: "consent", Outcome: "allowed", DataCategories: []string{"account_balance"}}},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			var v Verdict
			for b.Loop() {
				v = h.Evaluate(&c.e).Verdict
			}
			if v == "" {
				b.Fatal("no verdict")
			}
		})
	}
}
