package reports

import (
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// The plain words of customer-ready reports: how a customer reads each
// value the wire contract (SPEC §2) defines, and each verdict (SPEC §3).
// A value without words here is shown as recorded.
var (
	actorWords = map[string]string{
		"employee": "Bank employee",
		"service":  "Automated service",
		"system":   "Automated system",
		"partner":  "Partner organisation",
		"subject":  "You",
	}
	actionWords = map[string]string{
		"read":     "Your data was looked at",
		"share":    "Your data was shared",
		"export":   "Your data was exported",
		"transfer": "Your data was transferred",
		"update":   "Your data was updated",
		"delete":   "Your data was deleted",
	}
	recipientTypeWords = map[string]string{
		"internal":    "The bank itself",
		"processor":   "Processor acting for the bank",
		"affiliate":   "Company of the bank's group",
		"third_party": "Third party",
		"subject":     "You",
		"authority":   "Public authority",
	}
	legalBasisWords = map[string]string{
		"consent":              "Your consent",
		"contract":             "Your contract with the bank",
		"legal_obligation":     "A legal obligation of the bank",
		"vital_interests":      "Protecting someone's vital interests",
		"public_task":          "A task in the public interest",
		"legitimate_interests": "The bank's legitimate interests",
	}
	// verdictWords says, for a customer, how an access stood with their
	// consent; never the verdict's code.
	verdictWords = map[string]string{
		"covered":               "Covered by your consent",
		"other_basis":           "Did not need your consent (see legal basis)",
		"denied":                "Refused: nothing was released",
		"no_consent":            "Not covered by any consent you gave",
		"consent_unknown":       "It relied on a consent the bank has no record of",
		"subject_mismatch":      "It relied on a consent that is not yours",
		"recipient_not_covered": "Your consent does not cover this recipient",
		"consent_withdrawn":     "After you withdrew your consent",
		"consent_expired":       "After your consent had expired",
		"purpose_not_covered":   "Your consent does not cover this purpose",
		"category_not_covered":  "Your consent does not cover all of this data",
	}
	// purposeWords and categoryWords cover the examples of SPEC §2.1 and
	// the ones privaudit records itself (a report run).
	purposeWords = map[string]string{
		"fraud_alert":     "Fraud alerts",
		"balance_inquiry": "Balance inquiries",
		"advertising":     "Advertising",
		RunPurpose:        "Compliance audit report",
	}
	categoryWords = map[string]string{
		"account_balance":   "Account balance",
		"card_transactions": "Card transactions",
		"contact_details":   "Contact details",
		"access_records":    "Records of who used your data",
		"consent_records":   "Records of your consents",
	}
)

// Consent changes on a customer's consent rows.
const (
	consentGiven      = "You gave your consent"
	consentGivenAgain = "You gave your consent again"
	consentNarrowed   = "You narrowed your consent"
	consentWidened    = "You widened your consent"
	consentRenewed    = "You renewed your consent"
	consentChanged    = "You changed your consent"
	consentWithdrawn  = "You withdrew your consent"
	noVerdictWords    = "Not assessed"
	refusedRequest    = "A request for your data was refused"
	theBank           = "The bank"
)

// word returns the words for v in m, else v as recorded.
func word(m map[string]string, v string) string {
	if w, ok := m[v]; ok {
		return w
	}
	return v
}

// words maps each value of vs through m; a value m lacks (a purpose or
// data category of the bank's own vocabulary) is written in words as
// recorded: payment_processing becomes "Payment processing".
func words(m map[string]string, vs []string) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		if w, ok := m[v]; ok {
			out[i] = w
		} else {
			out[i] = asWords(v)
		}
	}
	return out
}

// asWords writes an identifier in words: underscores become spaces and
// the first letter is upper case.
func asWords(v string) string {
	s := strings.ReplaceAll(v, "_", " ")
	r, n := utf8.DecodeRuneInString(s)
	if n == 0 {
		return s
	}
	return string(unicode.ToUpper(r)) + s[n:]
}

// dateWords writes a date as a customer reads it: 3 March 2026 (UTC).
func dateWords(t time.Time) string { return t.UTC().Format("2 January 2006") }

// consentWords names a consent by the date the customer first gave it.
func consentWords(given time.Time) string { return "Your consent of " + dateWords(given) }

// splitList splits a ;-joined list (the purposes of a consent row).
func splitList(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ";")
}
