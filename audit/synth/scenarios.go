package synth

import "github.com/privaudit/privaudit/audit"

// event is one access event under construction.
type event struct {
	at        int64
	actorID   string // "" with actorType subject: the subject itself
	actorType string
	subject   int
	action    string
	cats      uint8
	rcpt      recipient
	purpose   string
	basis     string
	ckind     uint8 // consent kind named by consent_id; kindNone: no consent_id
	ccust     int   // the customer whose consent consent_id names
	denied    bool
	records   int
	channel   string
	team      string
	expect    audit.Verdict
	scenario  string
}

// scenario is one kind of access event the generator produces, with its
// relative weights inside and outside business hours. build fills in e
// (whose at is set) and reports false when it found no fitting customer.
type scenario struct {
	name              string
	business, offHour uint32
	build             func(g *gen, e *event) bool
}

// scenarios is the event mix. Weights are per million events, roughly.
var scenarios = []scenario{
	{"svc_core_read", 170000, 170000, (*gen).svcCoreRead},
	{"svc_fraud_scoring", 60000, 60000, (*gen).svcFraudScoring},
	{"emp_support_read", 50000, 1500, (*gen).empSupportRead},
	{"emp_fraud_read", 25000, 2500, (*gen).empFraudRead},
	{"subject_self_service", 70000, 40000, (*gen).subjectSelfService},
	{"card_network_share", 110000, 80000, (*gen).cardNetworkShare},
	{"kyc_check", 15000, 5000, (*gen).kycCheck},
	{"cloud_backup", 5000, 8000, (*gen).cloudBackup},
	{"authority_report", 1500, 500, (*gen).authorityReport},
	{"denied_partner_request", 10000, 8000, (*gen).deniedPartner},
	{"denied_employee_read", 3000, 600, (*gen).deniedEmployee},
	{"messenger_balance", 200000, 140000, (*gen).msgBalance},
	{"messenger_fraud_alert", 100000, 100000, (*gen).msgFraudAlert},
	{"messenger_payment_reminder", 10000, 5000, (*gen).msgReminder},
	{"analytics_export", 40000, 40000, (*gen).analyticsExport},
	{"ad_network_no_consent", 600, 600, (*gen).adNoConsent},
	{"ad_network_cites_messenger_consent", 300, 300, (*gen).adCitesMessenger},
	{"messenger_category_beyond_opt_in", 800, 800, (*gen).msgCategoryBeyond},
	{"messenger_purpose_beyond_opt_in", 500, 500, (*gen).msgPurposeBeyond},
	{"messenger_after_withdrawal", 600, 600, (*gen).msgAfterWithdrawal},
	{"messenger_after_expiry", 400, 400, (*gen).msgAfterExpiry},
	{"messenger_other_subjects_consent", 300, 300, (*gen).msgOtherSubject},
	{"messenger_unknown_consent", 300, 300, (*gen).msgUnknownConsent},
	{"messenger_never_opted_in", 400, 400, (*gen).msgNeverOptedIn},
}

// fallback is the scenario used when the drawn one finds no fitting customer.
const fallback = 0

// tries is how many customers a scenario draws before giving up.
const tries = 16

func (g *gen) service(e *event, actor, action string, cats uint8, rcpt recipient, purpose, basis, channel string) {
	e.actorID, e.actorType, e.action, e.cats, e.rcpt = actor, "service", action, cats, rcpt
	e.purpose, e.basis, e.channel, e.expect = purpose, basis, channel, audit.VerdictOtherBasis
	e.subject = g.r.IntN(len(g.w.customers))
}

func (g *gen) svcCoreRead(e *event) bool {
	cats := cAccountBalance
	if g.r.IntN(10) < 3 {
		cats |= cCardTransactions
	}
	g.service(e, "svc-core-banking", "read", cats, rInternal, "account_servicing", "contract", "api")
	return true
}

func (g *gen) svcFraudScoring(e *event) bool {
	g.service(e, "svc-fraud-engine", "read", cCardTransactions, rInternal, "fraud_detection", "legitimate_interests", "api")
	return true
}

// employee draws an employee of the support (or fraud) team; after hours,
// often one of the night owls.
func (g *gen) employee(e *event, support bool) {
	var i int
	switch {
	case !g.business && g.r.IntN(2) == 0:
		i = nightOwls[g.r.IntN(len(nightOwls))]
	case support:
		i = g.r.IntN(supportStaff)
	default:
		i = supportStaff + g.r.IntN(employees-supportStaff)
	}
	e.actorID, e.actorType, e.action, e.rcpt, e.channel = employeeIDs[i], "employee", "read", rInternal, "backoffice"
	e.team = "fraud_ops"
	if i < supportStaff {
		e.team = "customer_support"
	}
	e.subject = g.r.IntN(len(g.w.customers))
	e.expect = audit.VerdictOtherBasis
}

func (g *gen) empSupportRead(e *event) bool {
	g.employee(e, true)
	e.cats, e.purpose, e.basis = cAccountBalance|cContactDetails, "customer_support", "contract"
	if g.r.IntN(4) == 0 {
		e.cats |= cCardTransactions
	}
	return true
}

func (g *gen) empFraudRead(e *event) bool {
	g.employee(e, false)
	e.cats, e.purpose, e.basis = cCardTransactions|cContactDetails, "fraud_investigation", "legitimate_interests"
	return true
}

func (g *gen) subjectSelfService(e *event) bool {
	g.service(e, "", "read", cAccountBalance|cCardTransactions, rSubject, "self_service", "contract", "mobile_app")
	e.actorType = "subject"
	return true
}

func (g *gen) cardNetworkShare(e *event) bool {
	g.service(e, "svc-card-switch", "share", cCardTransactions, rCardNet, "payment_processing", "contract", "api")
	return true
}

func (g *gen) kycCheck(e *event) bool {
	g.service(e, "svc-onboarding", "transfer", cContactDetails, rKYC, "identity_verification", "legal_obligation", "api")
	return true
}

func (g *gen) cloudBackup(e *event) bool {
	g.service(e, "svc-backup", "transfer", scopeFullC, rCloud, "hosting", "contract", "batch_file")
	e.records = 1 + g.r.IntN(40)
	return true
}

func (g *gen) authorityReport(e *event) bool {
	g.service(e, "svc-compliance", "export", cCardTransactions|cContactDetails, rAuthority, "regulatory_reporting", "legal_obligation", "batch_file")
	e.records = 1 + g.r.IntN(200)
	return true
}

func (g *gen) deniedPartner(e *event) bool {
	g.messenger(e, g.r.IntN(len(g.w.customers)), "balance_inquiry", cAccountBalance)
	e.actorID, e.actorType, e.denied, e.expect = rMessenger.id, "partner", true, audit.VerdictDenied
	if g.w.customers[e.subject].plans[kindMsg].n > 0 && g.r.IntN(2) == 0 {
		e.ckind, e.ccust = kindMsg, e.subject
	}
	return true
}

func (g *gen) deniedEmployee(e *event) bool {
	g.employee(e, g.r.IntN(2) == 0)
	e.cats, e.purpose, e.basis = cAccountBalance|cCardTransactions|cContactDetails, "customer_support", "contract"
	e.denied, e.expect = true, audit.VerdictDenied
	return true
}
