package synth

import "github.com/privaudit/privaudit/audit"

// Consent-based scenarios: disclosures to the messaging platform, the
// analytics processor and the ad network, covered or not by construction.

// pick draws a customer from pool, or -1 when it is empty.
func (g *gen) pick(pool []int32) int {
	if len(pool) == 0 {
		return -1
	}
	return int(pool[g.r.IntN(len(pool))])
}

// messenger makes e a consent-based share of cust's data with the messaging
// platform.
func (g *gen) messenger(e *event, cust int, purpose string, cats uint8) {
	e.actorID, e.actorType, e.action, e.rcpt = "svc-messaging-gateway", "service", "share", rMessenger
	if purpose == "fraud_alert" {
		e.actorID = "svc-fraud-alerts"
	}
	e.subject, e.purpose, e.cats, e.basis, e.channel = cust, purpose, cats, "consent", "messenger"
}

// cite sets consent_id to cust's messaging consent, or leaves it out now
// and then when that consent is the only candidate for the messenger.
func (g *gen) cite(e *event, cust int) {
	if g.r.IntN(10) < 3 && !g.w.known(cust, kindRem, e.at) && cust == e.subject {
		return
	}
	e.ckind, e.ccust = kindMsg, cust
}

// primaryCategory is the category a messaging purpose needs.
func primaryCategory(purpose uint8) uint8 {
	if purpose == pFraudAlert {
		return cCardTransactions
	}
	return cAccountBalance
}

// msgCovered makes a messenger share within the customer's current scope.
func (g *gen) msgCovered(e *event, purpose uint8, extraPct int) bool {
	primary := primaryCategory(purpose)
	for range tries {
		c := g.pick(g.w.msgPool)
		if c < 0 {
			return false
		}
		st, ok := g.w.activeAt(c, kindMsg, e.at)
		if !ok || st.purposes&purpose == 0 || st.cats&primary == 0 {
			continue
		}
		cats := primary
		if st.cats&cContactDetails != 0 && g.r.IntN(100) < extraPct {
			cats |= cContactDetails
		}
		g.messenger(e, c, purposeNames[bitIndex(purpose)], cats)
		if g.r.IntN(10) != 0 {
			e.ckind, e.ccust = kindMsg, c
		}
		e.expect = audit.VerdictCovered
		return true
	}
	return false
}

func bitIndex(bit uint8) int {
	for i := 0; i < 8; i++ {
		if bit == 1<<i {
			return i
		}
	}
	return 0
}

func (g *gen) msgBalance(e *event) bool { return g.msgCovered(e, pBalanceInquiry, 30) }

func (g *gen) msgFraudAlert(e *event) bool { return g.msgCovered(e, pFraudAlert, 60) }

func (g *gen) msgReminder(e *event) bool {
	for range tries {
		c := g.pick(g.w.remPool)
		if c < 0 {
			return false
		}
		if _, ok := g.w.activeAt(c, kindRem, e.at); !ok {
			continue
		}
		cats := cAccountBalance
		if g.r.IntN(2) == 0 {
			cats |= cContactDetails
		}
		g.messenger(e, c, "payment_reminder", cats)
		if g.r.IntN(10) < 3 {
			e.ckind, e.ccust = kindRem, c
		}
		e.expect = audit.VerdictCovered
		return true
	}
	return false
}

func (g *gen) analyticsExport(e *event) bool {
	for range tries {
		c := g.pick(g.w.anaPool)
		if c < 0 {
			return false
		}
		if _, ok := g.w.activeAt(c, kindAna, e.at); !ok {
			continue
		}
		cats := cCardTransactions
		if g.r.IntN(10) < 4 {
			cats |= cAccountBalance
		}
		e.actorID, e.actorType, e.action, e.rcpt = "svc-data-platform", "service", "export", rAnalytics
		e.subject, e.purpose, e.cats, e.basis, e.channel = c, "analytics", cats, "consent", "batch_file"
		if g.r.IntN(100) < 85 {
			e.ckind, e.ccust = kindAna, c
		}
		e.expect = audit.VerdictCovered
		return true
	}
	return false
}

// adShare makes e a consent-based share with the ad network for advertising.
func (g *gen) adShare(e *event, cust int) {
	e.actorID, e.actorType, e.action, e.rcpt = "svc-marketing-sync", "service", "share", rAdNet
	e.subject, e.purpose, e.cats, e.basis, e.channel = cust, "advertising", cAccountBalance, "consent", "api"
	if g.r.IntN(2) == 0 {
		e.cats |= cCardTransactions
	}
}

func (g *gen) adNoConsent(e *event) bool {
	g.adShare(e, g.r.IntN(len(g.w.customers)))
	e.expect = audit.VerdictNoConsent
	return true
}

func (g *gen) adCitesMessenger(e *event) bool {
	for range tries {
		c := g.pick(g.w.msgPool)
		if c < 0 {
			return false
		}
		if !g.w.known(c, kindMsg, e.at) {
			continue
		}
		g.adShare(e, c)
		e.ckind, e.ccust, e.expect = kindMsg, c, audit.VerdictRecipientNotCovered
		return true
	}
	return false
}

func (g *gen) msgCategoryBeyond(e *event) bool {
	for range tries {
		c := g.pick(g.w.msgPool)
		if c < 0 {
			return false
		}
		st, ok := g.w.activeAt(c, kindMsg, e.at)
		if !ok {
			continue
		}
		purpose := pBalanceInquiry
		if st.purposes&purpose == 0 || (st.purposes&pFraudAlert != 0 && g.r.IntN(2) == 0) {
			purpose = pFraudAlert
		}
		primary := primaryCategory(purpose)
		if st.cats&primary == 0 {
			continue
		}
		missing := scopeFullC &^ st.cats &^ cContactDetails
		if missing == 0 {
			missing = cLoanDetails
		}
		g.messenger(e, c, purposeNames[bitIndex(purpose)], primary|missing)
		g.cite(e, c)
		e.expect = audit.VerdictCategoryNotCovered
		return true
	}
	return false
}

func (g *gen) msgPurposeBeyond(e *event) bool {
	for range tries {
		c := g.pick(g.w.msgPool)
		if c < 0 {
			return false
		}
		st, ok := g.w.activeAt(c, kindMsg, e.at)
		if !ok {
			continue
		}
		switch {
		case st.purposes&pBalanceInquiry == 0:
			g.messenger(e, c, "balance_inquiry", cAccountBalance)
		case st.purposes&pFraudAlert == 0:
			g.messenger(e, c, "fraud_alert", cCardTransactions)
		default:
			g.messenger(e, c, "product_offers", cAccountBalance)
		}
		g.cite(e, c)
		e.expect = audit.VerdictPurposeNotCovered
		return true
	}
	return false
}

func (g *gen) msgAfterWithdrawal(e *event) bool {
	for range tries {
		c := g.pick(g.w.wdPool)
		if c < 0 {
			return false
		}
		st, ok := g.w.stateAt(c, kindMsg, e.at)
		if !ok || st.granted {
			continue
		}
		g.messenger(e, c, "fraud_alert", cCardTransactions|cContactDetails)
		g.cite(e, c)
		e.expect = audit.VerdictConsentWithdrawn
		return true
	}
	return false
}

func (g *gen) msgAfterExpiry(e *event) bool {
	for range tries {
		c := g.pick(g.w.expPool)
		if c < 0 {
			return false
		}
		st, ok := g.w.stateAt(c, kindMsg, e.at)
		if !ok || !st.granted || st.expires == 0 || st.expires > e.at {
			continue
		}
		g.messenger(e, c, "balance_inquiry", cAccountBalance)
		g.cite(e, c)
		e.expect = audit.VerdictConsentExpired
		return true
	}
	return false
}

func (g *gen) msgOtherSubject(e *event) bool {
	a := g.r.IntN(len(g.w.customers))
	for range tries {
		b := g.pick(g.w.msgPool)
		if b < 0 {
			return false
		}
		if b == a || !g.w.known(b, kindMsg, e.at) {
			continue
		}
		g.messenger(e, a, "balance_inquiry", cAccountBalance)
		e.ckind, e.ccust, e.expect = kindMsg, b, audit.VerdictSubjectMismatch
		return true
	}
	return false
}

func (g *gen) msgUnknownConsent(e *event) bool {
	if g.r.IntN(2) == 0 {
		c := g.r.IntN(len(g.w.customers))
		g.messenger(e, c, "balance_inquiry", cAccountBalance)
		e.ckind, e.ccust, e.expect = kindBogus, c, audit.VerdictConsentUnknown
		return true
	}
	for range tries {
		c := g.pick(g.w.msgPool)
		if c < 0 {
			return false
		}
		if g.w.known(c, kindMsg, e.at) {
			continue
		}
		g.messenger(e, c, "fraud_alert", cCardTransactions)
		e.ckind, e.ccust, e.expect = kindMsg, c, audit.VerdictConsentUnknown
		return true
	}
	return false
}

func (g *gen) msgNeverOptedIn(e *event) bool {
	for range tries {
		c := g.r.IntN(len(g.w.customers))
		if g.w.known(c, kindMsg, e.at) || g.w.known(c, kindRem, e.at) {
			continue
		}
		g.messenger(e, c, "balance_inquiry", cAccountBalance|cContactDetails)
		e.expect = audit.VerdictNoConsent
		return true
	}
	return false
}
