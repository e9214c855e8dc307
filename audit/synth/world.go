package synth

// The synthetic world: the bank's recipients, purposes, data categories,
// internal actors and customers' jurisdictions (SPEC §1 story).

// Purposes are bit positions in a purpose mask.
const (
	pFraudAlert uint8 = 1 << iota
	pBalanceInquiry
	pPaymentReminder
	pAnalytics
)

// Data categories are bit positions in a category mask.
const (
	cAccountBalance uint8 = 1 << iota
	cCardTransactions
	cContactDetails
	cLoanDetails
)

var purposeNames = [...]string{"fraud_alert", "balance_inquiry", "payment_reminder", "analytics"}

var categoryNames = [...]string{"account_balance", "card_transactions", "contact_details", "loan_details"}

// categoryFields are the finer-grained fields touched per data category.
var categoryFields = [...][]string{
	{"available_balance", "ledger_balance"},
	{"merchant_name", "amount", "mcc", "authorized_at"},
	{"phone_number", "email"},
	{"loan_balance", "next_installment"},
}

// Messaging-platform consent scopes (purposes, categories).
const (
	scopeFullP  = pFraudAlert | pBalanceInquiry
	scopeFullC  = cAccountBalance | cCardTransactions | cContactDetails
	scopeBalP   = pBalanceInquiry
	scopeBalC   = cAccountBalance | cContactDetails
	scopeFraudP = pFraudAlert
	scopeFraudC = cCardTransactions | cContactDetails
	scopeRemP   = pPaymentReminder
	scopeRemC   = cAccountBalance | cContactDetails
	scopeAnaP   = pAnalytics
	scopeAnaC   = cCardTransactions | cAccountBalance
)

// recipient is one party data may be disclosed to.
type recipient struct {
	id, typ string
}

// AdNetwork is the recipient_id of the story's ad network, which no
// customer ever consented to share with.
const AdNetwork = "adreach-network"

var (
	rInternal  = recipient{"internal", "internal"}
	rSubject   = recipient{"subject", "subject"}
	rMessenger = recipient{"chatwave-messenger", "third_party"}
	rCardNet   = recipient{"cardnet-payments", "third_party"}
	rKYC       = recipient{"verifyfast-kyc", "processor"}
	rCloud     = recipient{"nimbus-cloud", "processor"}
	rAnalytics = recipient{"insightlab-analytics", "processor"}
	rAdNet     = recipient{AdNetwork, "third_party"}
	rAuthority = recipient{"fincen", "authority"}
)

// Consent kinds: which of a customer's consents an event relies on.
const (
	kindNone  uint8 = iota
	kindMsg         // messaging platform: fraud alerts and balances (opt-in via messenger)
	kindRem         // messaging platform: payment reminders (opt-in via web)
	kindAna         // analytics processor
	kindBogus       // a consent id no consent event ever carried
)

var consentPrefix = [...]string{"", "cns-msg-", "cns-rem-", "cns-ana-", "cns-msg-x"}

var consentRecipient = [...]recipient{{}, rMessenger, rMessenger, rAnalytics, rMessenger}

var jurisdictions = [...]string{"US-NY", "US-NY", "US-NJ", "US-CA", "US-TX", "US-FL", "US-IL", "US-MA"}

// Internal staff: the first supportStaff employees work in customer support,
// the rest in the fraud team. nightOwls read accounts after hours more often.
const (
	employees    = 120
	supportStaff = 80
)

var nightOwls = [...]int{7, 93}

var employeeIDs = func() []string {
	ids := make([]string, employees)
	for i := range ids {
		b := []byte("emp-0000")
		for j, n := len(b)-1, i+1; n > 0; j, n = j-1, n/10 {
			b[j] = byte('0' + n%10)
		}
		ids[i] = string(b)
	}
	return ids
}()
