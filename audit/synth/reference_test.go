package synth

import (
	"testing"
	"time"
)

// rulesLedger is a small ledger exercising every rule of SPEC §3.
func rulesLedger() *Ledger {
	const h = time.Hour
	exp := grant("e4", "c2", "s1", "m", 10*h, "fraud_alert", "card_transactions")
	exp.ExpiresAt = tp(20 * h)
	return NewLedger([]WireConsent{
		grant("e1", "c1", "s1", "m", 0, "balance_inquiry,fraud_alert", "account_balance,card_transactions"),
		grant("e2", "c1", "s1", "m", 5*h, "balance_inquiry", "account_balance"), // narrowed
		withdraw("e3", "c1", "s1", "m", 30*h),
		exp,
		grant("e5", "c1", "s1", "m", 40*h, "balance_inquiry", "account_balance,contact_details"), // re-grant
		// same effective_at: the later-ingested wins
		grant("e6", "c3", "s2", "m", 1*h, "fraud_alert", "card_transactions"),
		withdraw("e7", "c3", "s2", "m", 1*h),
		grant("e8", "c4", "s2", "m", 1*h, "fraud_alert", "card_transactions"),
		grant("e8", "c4", "s2", "m", 1*h, "nothing", "nothing"), // duplicate id: ignored
		// a consent recorded late for an earlier effective time
		grant("e9", "c5", "s3", "m", -48*h, "balance_inquiry", "account_balance"),
	})
}

func TestVerdictRules(t *testing.T) {
	const h = time.Hour
	l := rulesLedger()
	ev := func(at time.Duration, subj, rcpt, purpose, consentID string, cats ...string) WireEvent {
		return WireEvent{OccurredAt: t0.Add(at), SubjectID: subj, RecipientID: rcpt, Purpose: purpose,
			LegalBasis: "consent", ConsentID: consentID, DataCategories: cats, Action: "share", Outcome: "allowed"}
	}
	denied := ev(1*h, "s1", "m", "balance_inquiry", "c1", "account_balance")
	denied.Outcome = "denied"
	other := ev(1*h, "s1", "m", "balance_inquiry", "", "account_balance")
	other.LegalBasis = "contract"
	cases := []struct {
		name        string
		e           WireEvent
		verdict, id string
		detail      string
	}{
		{"denied first", denied, VerdictDenied, "c1", ""},
		{"other basis", other, VerdictOtherBasis, "", ""},
		{"named covered", ev(1*h, "s1", "m", "fraud_alert", "c1", "card_transactions"), VerdictCovered, "c1", ""},
		{"narrowed purpose", ev(6*h, "s1", "m", "fraud_alert", "c1", "card_transactions"), VerdictPurposeNotCovered, "c1", ""},
		{"narrowed category", ev(6*h, "s1", "m", "balance_inquiry", "c1", "account_balance", "card_transactions", "x", "x"),
			VerdictCategoryNotCovered, "c1", "card_transactions;x"},
		{"before any event", ev(-1*h, "s1", "m", "fraud_alert", "c1", "card_transactions"), VerdictConsentUnknown, "c1", ""},
		{"unknown id", ev(1*h, "s1", "m", "fraud_alert", "nope", "card_transactions"), VerdictConsentUnknown, "nope", ""},
		{"subject first", ev(35*h, "s9", "other", "fraud_alert", "c1", "card_transactions"), VerdictSubjectMismatch, "c1", ""},
		{"recipient", ev(35*h, "s1", "ads", "advertising", "c1", "account_balance"), VerdictRecipientNotCovered, "c1", ""},
		{"withdrawn", ev(35*h, "s1", "m", "balance_inquiry", "c1", "account_balance"), VerdictConsentWithdrawn, "c1", ""},
		{"re-granted", ev(41*h, "s1", "m", "balance_inquiry", "c1", "contact_details"), VerdictCovered, "c1", ""},
		{"expired at expires_at", ev(20*h, "s1", "m", "fraud_alert", "c2", "card_transactions"), VerdictConsentExpired, "c2", ""},
		{"before expiry", ev(20*h-time.Millisecond, "s1", "m", "fraud_alert", "c2", "card_transactions"), VerdictCovered, "c2", ""},
		{"no candidates", ev(1*h, "s1", "ads", "advertising", "", "account_balance"), VerdictNoConsent, "", ""},
		{"no candidate yet", ev(-1*h, "s1", "m", "fraud_alert", "", "card_transactions"), VerdictNoConsent, "", ""},
		// at 12h: c1 narrowed at 5h, c2 granted at 10h (the more recent)
		{"any candidate covers", ev(12*h, "s1", "m", "balance_inquiry", "", "account_balance"), VerdictCovered, "c1", ""},
		{"most recent covers", ev(12*h, "s1", "m", "fraud_alert", "", "card_transactions"), VerdictCovered, "c2", ""},
		{"most recent fails", ev(12*h, "s1", "m", "advertising", "", "card_transactions"), VerdictPurposeNotCovered, "c2", ""},
		{"failure of latest", ev(35*h, "s1", "m", "fraud_alert", "", "card_transactions"), VerdictConsentWithdrawn, "c1", ""},
		{"tie later wins", ev(2*h, "s2", "m", "fraud_alert", "c3", "card_transactions"), VerdictConsentWithdrawn, "c3", ""},
		{"tie among candidates", ev(2*h, "s2", "m", "advertising", "", "card_transactions"), VerdictPurposeNotCovered, "c4", ""},
		{"covered despite other", ev(2*h, "s2", "m", "fraud_alert", "", "card_transactions"), VerdictCovered, "c4", ""},
		{"late consent counts", ev(-47*h, "s3", "m", "balance_inquiry", "", "account_balance"), VerdictCovered, "c5", ""},
	}
	for _, c := range cases {
		v, id, detail := Verdict(l, c.e)
		if v != c.verdict || id != c.id || c.detail != "" && detail != c.detail {
			t.Errorf("%s: got %s %q %q, want %s %q %q", c.name, v, id, detail, c.verdict, c.id, c.detail)
		}
	}
}
