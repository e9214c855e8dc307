package audit

// Verdict is the consent-coverage verdict of one access event (SPEC §3).
// Its value is the name reports, SQL and stored rows use.
type Verdict string

// The verdicts of SPEC §3. verdictTable lists them in their one order.
const (
	VerdictCovered             Verdict = "covered"
	VerdictOtherBasis          Verdict = "other_basis"
	VerdictDenied              Verdict = "denied"
	VerdictNoConsent           Verdict = "no_consent"
	VerdictConsentUnknown      Verdict = "consent_unknown"
	VerdictSubjectMismatch     Verdict = "subject_mismatch"
	VerdictRecipientNotCovered Verdict = "recipient_not_covered"
	VerdictConsentWithdrawn    Verdict = "consent_withdrawn"
	VerdictConsentExpired      Verdict = "consent_expired"
	VerdictPurposeNotCovered   Verdict = "purpose_not_covered"
	VerdictCategoryNotCovered  Verdict = "category_not_covered"
)

// verdictTable is the single ordered list of verdicts: the acceptable ones
// first, then the violations in the order SPEC §3 checks them. Reports show
// verdict columns in this order; violation marks the verdicts that are
// violations; meaning says in one sentence, for an officer, what the
// verdict means, and rule names the SPEC §3 step it comes from (shown on
// the xlsx Legend sheet). A new verdict rule adds its row here, its check
// in ledger.go, and its SQL (see README, "Where the verdict rules live").
var verdictTable = [...]struct {
	verdict   Verdict
	violation bool
	meaning   string
	rule      string
}{
	{VerdictCovered, false,
		"A consent of this customer, for this recipient, in force at the time, covered the purpose and every data category.",
		"§3 step 5: a candidate consent passes every check"},
	{VerdictOtherBasis, false,
		"The access relied on a legal basis other than consent (contract, legal obligation, …), so no consent was needed.",
		"§3 step 2: legal_basis is not consent"},
	{VerdictDenied, false,
		"The request was refused, so no data left: recorded for the trail, not a violation.",
		"§3 step 1: outcome is denied"},
	{VerdictNoConsent, true,
		"The access relied on consent, but the customer had no consent for this recipient in force at the time.",
		"§3 step 3: no consent of (customer, recipient) effective at or before the access"},
	{VerdictConsentUnknown, true,
		"The access named a consent id that was not recorded (or not yet effective) at the time of the access.",
		"§3 step 3: the named consent_id has no event effective at or before the access"},
	{VerdictSubjectMismatch, true,
		"The access named a consent that belongs to another customer.",
		"§3 step 4: the named consent's subject differs"},
	{VerdictRecipientNotCovered, true,
		"The access named a consent given for another recipient than the one that received the data.",
		"§3 step 4: the named consent's recipient differs"},
	{VerdictConsentWithdrawn, true,
		"The customer had withdrawn the consent before the access.",
		"§3 step 4: the consent's state at the time is withdrawn"},
	{VerdictConsentExpired, true,
		"The consent had expired before the access.",
		"§3 step 4: expires_at is at or before the access"},
	{VerdictPurposeNotCovered, true,
		"The consent was in force but does not cover the purpose the data was used for.",
		"§3 step 4: the access's purpose is not among the consent's purposes"},
	{VerdictCategoryNotCovered, true,
		"The consent was in force but does not cover some of the data categories shared (the detail names them).",
		"§3 step 4: some data categories are not among the consent's categories"},
}

// Verdicts returns every verdict in order: the acceptable ones first, then
// the violations in the order SPEC §3 checks them.
func Verdicts() []Verdict {
	out := make([]Verdict, len(verdictTable))
	for i, r := range verdictTable {
		out[i] = r.verdict
	}
	return out
}

// VerdictNames returns the names of Verdicts, in the same order.
func VerdictNames() []string {
	out := make([]string, len(verdictTable))
	for i, r := range verdictTable {
		out[i] = string(r.verdict)
	}
	return out
}

// Valid reports whether v is one of the verdicts.
func (v Verdict) Valid() bool {
	for _, r := range verdictTable {
		if r.verdict == v {
			return true
		}
	}
	return false
}

// VerdictMeaning returns, for the verdict named name, one sentence saying
// what it means and the SPEC §3 rule it comes from; ok is false for a name
// that is no verdict.
func VerdictMeaning(name string) (meaning, rule string, ok bool) {
	for _, r := range verdictTable {
		if string(r.verdict) == name {
			return r.meaning, r.rule, true
		}
	}
	return "", "", false
}

// IsViolation reports whether v marks a violation: every verdict but
// covered, other_basis and denied (SPEC §3). A name that is no verdict
// counts as a violation, so nothing unexplained passes as acceptable.
func (v Verdict) IsViolation() bool {
	for _, r := range verdictTable {
		if r.verdict == v {
			return r.violation
		}
	}
	return true
}

// DisclosureMeaning says in words what IsDisclosure decides, for readers
// of the reports (the xlsx Legend sheet).
const DisclosureMeaning = "A disclosure is an access whose action is share, export or transfer, whose outcome is allowed, " +
	"and whose recipient is neither internal nor the customer (SPEC §2.1)."

// IsDisclosure reports whether an access with this action, outcome and
// recipient type is a disclosure (SPEC §2.1): a share, export or transfer
// that was allowed, to a recipient other than internal or the subject.
func IsDisclosure(action, outcome, recipientType string) bool {
	switch action {
	case "share", "export", "transfer":
	default:
		return false
	}
	return outcome == "allowed" && recipientType != "internal" && recipientType != "subject"
}

// IsDisclosure reports whether e is a disclosure; see the function
// IsDisclosure.
func (e *Event) IsDisclosure() bool {
	return IsDisclosure(e.Action, e.Outcome, e.RecipientType)
}
