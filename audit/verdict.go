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
// violations. A new verdict rule adds its row here, its check in
// ledger.go, and its SQL (see README, "Where the verdict rules live").
var verdictTable = [...]struct {
	verdict   Verdict
	violation bool
}{
	{VerdictCovered, false},
	{VerdictOtherBasis, false},
	{VerdictDenied, false},
	{VerdictNoConsent, true},
	{VerdictConsentUnknown, true},
	{VerdictSubjectMismatch, true},
	{VerdictRecipientNotCovered, true},
	{VerdictConsentWithdrawn, true},
	{VerdictConsentExpired, true},
	{VerdictPurposeNotCovered, true},
	{VerdictCategoryNotCovered, true},
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
