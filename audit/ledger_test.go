package audit

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"
)

var ledgerT0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func grantAt(evID, id, subj, rcpt string, at time.Duration, purposes, cats string) Consent {
	return Consent{ConsentEventID: evID, ConsentID: id, SubjectID: subj, RecipientID: rcpt, Status: "granted",
		Purposes: strings.Split(purposes, ","), DataCategories: strings.Split(cats, ","), EffectiveAt: ledgerT0.Add(at)}
}

func withdrawAt(evID, id, subj, rcpt string, at time.Duration) Consent {
	return Consent{ConsentEventID: evID, ConsentID: id, SubjectID: subj, RecipientID: rcpt, Status: "withdrawn",
		EffectiveAt: ledgerT0.Add(at)}
}

// rulesConsents is a small ledger exercising every rule of SPEC §3, in the
// order it was stored.
func rulesConsents() []Consent {
	const h = time.Hour
	exp := grantAt("e4", "c2", "s1", "m", 10*h, "fraud_alert", "card_transactions")
	end := ledgerT0.Add(20 * h)
	exp.ExpiresAt = &end
	return []Consent{
		grantAt("e1", "c1", "s1", "m", 0, "balance_inquiry,fraud_alert", "account_balance,card_transactions"),
		grantAt("e2", "c1", "s1", "m", 5*h, "balance_inquiry", "account_balance"), // narrowed
		withdrawAt("e3", "c1", "s1", "m", 30*h),
		exp,
		grantAt("e5", "c1", "s1", "m", 40*h, "balance_inquiry", "account_balance,contact_details"), // re-grant
		// same effective_at: the later-stored wins
		grantAt("e6", "c3", "s2", "m", 1*h, "fraud_alert", "card_transactions"),
		withdrawAt("e7", "c3", "s2", "m", 1*h),
		grantAt("e8", "c4", "s2", "m", 1*h, "fraud_alert", "card_transactions"),
		// a consent recorded late for an earlier effective time
		grantAt("e9", "c5", "s3", "m", -48*h, "balance_inquiry", "account_balance"),
	}
}

type ruleCase struct {
	name        string
	e           Event
	verdict     Verdict
	id, missing string
}

func ruleCases() []ruleCase {
	const h = time.Hour
	ev := func(at time.Duration, subj, rcpt, purpose, consentID string, cats ...string) Event {
		return Event{OccurredAt: ledgerT0.Add(at), SubjectID: subj, RecipientID: rcpt, Purpose: purpose,
			LegalBasis: "consent", ConsentID: consentID, DataCategories: cats, Action: "share", Outcome: "allowed"}
	}
	denied := ev(1*h, "s1", "m", "balance_inquiry", "c1", "account_balance")
	denied.Outcome = "denied"
	other := ev(1*h, "s1", "m", "balance_inquiry", "", "account_balance")
	other.LegalBasis = "contract"
	return []ruleCase{
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
}

func checkRule(t *testing.T, how string, c ruleCase, got Evaluation) {
	t.Helper()
	if got.Verdict != c.verdict || got.ConsentID != c.id || strings.Join(got.Missing, ";") != c.missing {
		t.Errorf("%s: %s: got %s %q %q, want %s %q %q", how, c.name, got.Verdict, got.ConsentID, got.Missing,
			c.verdict, c.id, c.missing)
	}
	if got.Verdict == VerdictCategoryNotCovered && got.Detail != "missing categories: "+strings.ReplaceAll(c.missing, ";", ", ") {
		t.Errorf("%s: %s: detail %q, want the missing categories %q", how, c.name, got.Detail, c.missing)
	}
	if got.Detail == "" {
		t.Errorf("%s: %s: %s without a detail", how, c.name, got.Verdict)
	}
}

// TestVerdictRules checks every rule of SPEC §3 on the whole in-memory
// ledger, with a replayed consent event stored once.
func TestVerdictRules(t *testing.T) {
	consents := rulesConsents()
	dup := grantAt("e8", "c4", "s2", "m", 1*time.Hour, "nothing", "nothing") // replay of e8: ignored
	l := NewLedger(append(consents, dup))
	if l.Len() != len(consents) {
		t.Fatalf("ledger holds %d consent events, want %d", l.Len(), len(consents))
	}
	for _, c := range ruleCases() {
		checkRule(t, "ledger", c, l.Evaluate(&c.e))
	}
}

// TestConsentHistoryRules checks that a ConsentHistory — the per-event
// form a writer reads from storage — decides like the whole ledger, in any
// input order, given only the consents that can decide the event or a
// superset of them.
func TestConsentHistoryRules(t *testing.T) {
	consents := rulesConsents()
	rng := rand.New(rand.NewPCG(1, 2))
	for _, c := range ruleCases() {
		var only, all []LedgerEntry
		for i := range consents {
			entry := LedgerEntry{Consent: &consents[i], Seq: uint64(i)}
			all = append(all, entry)
			if decides(consents, i, &c.e) {
				only = append(only, entry)
			}
		}
		for round := range 5 {
			rng.Shuffle(len(only), func(i, j int) { only[i], only[j] = only[j], only[i] })
			rng.Shuffle(len(all), func(i, j int) { all[i], all[j] = all[j], all[i] })
			h := NewConsentHistory(slices.Clone(only))
			checkRule(t, "history of the event's key", c, h.Evaluate(&c.e))
			if round == 0 {
				checkRule(t, "whole ledger as history", c, NewConsentHistory(slices.Clone(all)).Evaluate(&c.e))
			}
		}
	}
}

// decides reports whether consents[i] belongs to the history that can
// decide e: an event of e's consent, or of a consent of e's (subject,
// recipient) when e names none.
func decides(consents []Consent, i int, e *Event) bool {
	id := consents[i].ConsentID
	if e.ConsentID != "" {
		return id == e.ConsentID
	}
	return slices.ContainsFunc(consents, func(c Consent) bool {
		return c.ConsentID == id && c.SubjectID == e.SubjectID && c.RecipientID == e.RecipientID
	})
}

func TestVerdictList(t *testing.T) {
	want := []string{"covered", "other_basis", "denied", "no_consent", "consent_unknown", "subject_mismatch",
		"recipient_not_covered", "consent_withdrawn", "consent_expired", "purpose_not_covered", "category_not_covered"}
	if got := VerdictNames(); !slices.Equal(got, want) {
		t.Fatalf("VerdictNames() = %v, want %v", got, want)
	}
	for i, v := range Verdicts() {
		if string(v) != want[i] || !v.Valid() || v.IsViolation() != (i >= 3) {
			t.Errorf("verdict %d %s: valid %v, violation %v", i, v, v.Valid(), v.IsViolation())
		}
	}
	if Verdict("unknown").Valid() || !Verdict("unknown").IsViolation() || Verdict("").Valid() {
		t.Error("a name that is no verdict must be invalid and count as a violation")
	}
}
