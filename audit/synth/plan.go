package synth

import (
	"bufio"
	"math/rand/v2"
	"slices"
)

const (
	msPerHour = int64(3600 * 1000)
	msPerDay  = 24 * msPerHour
)

// step is one consent event of a planned consent: a grant (with its scope
// and optional expiry) or a withdrawal, effective from at.
type step struct {
	at, expires int64 // Unix ms; expires 0 = no expiry
	granted     bool
	purposes    uint8
	cats        uint8
}

// plan is one planned consent: the customer's steps[first:first+n], in the
// order they are emitted (for steps with equal at, the later one wins).
type plan struct {
	first, n int32
	late     bool // all its steps are recorded at the end of the consent stream
}

// customer holds one customer's planned consents, indexed by consent kind.
type customer struct {
	plans [kindAna + 1]plan
	jur   uint8
}

// world is the planned consent ledger of every customer and the pools the
// event scenarios draw customers from.
type world struct {
	from, to  int64
	customers []customer
	steps     []step
	msgPool   []int32 // customers with a messaging consent
	remPool   []int32 // customers with a payment-reminder consent
	anaPool   []int32 // customers with an analytics consent
	wdPool    []int32 // customers whose messaging consent is withdrawn at some point
	expPool   []int32 // customers whose messaging consent expires by the period's end
}

// between returns a uniform value in [lo, hi), or lo when the range is empty.
func between(r *rand.Rand, lo, hi int64) int64 {
	if hi <= lo {
		return lo
	}
	return lo + r.Int64N(hi-lo)
}

// newWorld plans the consents of o.Customers customers.
func newWorld(o Options, r *rand.Rand) *world {
	w := &world{from: o.From.UnixMilli(), to: o.To.UnixMilli()}
	w.customers = make([]customer, o.Customers)
	w.steps = make([]step, 0, o.Customers)
	for i := range w.customers {
		c := &w.customers[i]
		c.jur = uint8(r.IntN(len(jurisdictions)))
		if r.IntN(100) < 62 {
			w.planMessaging(r, i)
		}
		if r.IntN(100) < 4 {
			grant := between(r, w.from-365*msPerDay, w.to-msPerHour)
			c.plans[kindRem] = w.add(step{at: grant, granted: true, purposes: scopeRemP, cats: scopeRemC})
			w.remPool = append(w.remPool, int32(i))
		}
		if r.IntN(100) < 25 {
			w.planAnalytics(r, i)
		}
	}
	return w
}

// add appends steps as one new plan.
func (w *world) add(steps ...step) plan {
	for i := range steps {
		// A step copied from an earlier grant (a narrowing, a re-grant) keeps
		// its expiry; a grant cannot end before it starts (SPEC §2.2), so
		// such a copy gets a fresh year instead.
		if s := &steps[i]; s.expires != 0 && s.expires <= s.at {
			s.expires = s.at + 365*msPerDay
		}
	}
	p := plan{first: int32(len(w.steps)), n: int32(len(steps))}
	w.steps = append(w.steps, steps...)
	return p
}

// planAnalytics plans an analytics-processor consent, now and then withdrawn.
func (w *world) planAnalytics(r *rand.Rand, i int) {
	g := step{at: between(r, w.from-730*msPerDay, w.from), granted: true, purposes: scopeAnaP, cats: scopeAnaC}
	if r.IntN(100) < 3 {
		wd := step{at: between(r, g.at+1, w.to)}
		w.customers[i].plans[kindAna] = w.add(g, wd)
	} else {
		w.customers[i].plans[kindAna] = w.add(g)
	}
	w.anaPool = append(w.anaPool, int32(i))
}

// messagingScope draws the scope of a messaging opt-in.
func messagingScope(r *rand.Rand) (purposes, cats uint8) {
	switch x := r.IntN(100); {
	case x < 50:
		return scopeFullP, scopeFullC
	case x < 75:
		return scopeBalP, scopeBalC
	default:
		return scopeFraudP, scopeFraudC
	}
}

// narrowerScope draws a scope narrower than the full one.
func narrowerScope(r *rand.Rand) (purposes, cats uint8) {
	switch r.IntN(3) {
	case 0:
		return scopeBalP, cAccountBalance
	case 1:
		return scopeFraudP, scopeFraudC
	default:
		return scopeFullP, cAccountBalance | cCardTransactions
	}
}

// planMessaging plans customer i's messaging-platform consent with one of
// several life cycles: plain, narrowed, withdrawn (maybe re-granted),
// expiring, corrected (a same-instant re-send with another scope) or
// recorded late.
func (w *world) planMessaging(r *rand.Rand, i int) {
	c := &w.customers[i]
	p, cats := messagingScope(r)
	g := step{granted: true, purposes: p, cats: cats}
	if r.IntN(100) < 85 {
		g.at = between(r, w.from-730*msPerDay, w.from)
	} else {
		g.at = between(r, w.from, w.to-msPerHour)
	}
	if r.IntN(100) < 10 {
		g.expires = g.at + 730*msPerDay
	}
	switch x := r.IntN(1000); {
	case x < 80 && g.at+1 < w.to: // narrowed
		g.purposes, g.cats = scopeFullP, scopeFullC
		n := g
		n.purposes, n.cats = narrowerScope(r)
		n.at = between(r, max(g.at+1, w.from-60*msPerDay), w.to)
		c.plans[kindMsg] = w.add(g, n)
	case x < 150 && g.at+1 < w.to: // withdrawn, sometimes re-granted
		wd := step{at: between(r, max(g.at+1, w.from-90*msPerDay), w.to)}
		if r.IntN(4) == 0 && wd.at+1 < w.to {
			rg := g
			rg.at = between(r, wd.at+1, w.to)
			c.plans[kindMsg] = w.add(g, wd, rg)
		} else {
			c.plans[kindMsg] = w.add(g, wd)
		}
		w.wdPool = append(w.wdPool, int32(i))
	case x < 210: // expiring in or just before the period
		g.expires = between(r, w.from-20*msPerDay, w.to-msPerDay)
		g.at = g.expires - 365*msPerDay
		c.plans[kindMsg] = w.add(g)
		w.expPool = append(w.expPool, int32(i))
	case x < 220: // corrected: re-sent with the same effective_at
		fix := g
		fix.purposes, fix.cats = narrowerScope(r)
		c.plans[kindMsg] = w.add(g, fix)
	case x < 225: // recorded late
		g.at = between(r, w.from, w.from+(w.to-w.from)/2)
		g.expires = 0
		c.plans[kindMsg] = w.add(g)
		c.plans[kindMsg].late = true
	default:
		c.plans[kindMsg] = w.add(g)
	}
	w.msgPool = append(w.msgPool, int32(i))
}

// stateAt returns the state of customer cust's consent of kind at t: its
// latest step effective at or before t (the later-emitted on ties).
func (w *world) stateAt(cust int, kind uint8, t int64) (step, bool) {
	p := w.customers[cust].plans[kind]
	for i := p.first + p.n - 1; i >= p.first; i-- {
		if s := w.steps[i]; s.at <= t {
			return s, true
		}
	}
	return step{}, false
}

// activeAt reports whether customer cust's consent of kind is granted and
// unexpired at t; it returns the granting step.
func (w *world) activeAt(cust int, kind uint8, t int64) (step, bool) {
	s, ok := w.stateAt(cust, kind, t)
	return s, ok && s.granted && (s.expires == 0 || s.expires > t)
}

// known reports whether customer cust's consent of kind has a step
// effective at or before t.
func (w *world) known(cust int, kind uint8, t int64) bool {
	p := w.customers[cust].plans[kind]
	return p.n > 0 && w.steps[p.first].at <= t
}

// consentRef locates one planned step for the consent stream.
type consentRef struct {
	at   int64
	idx  int32 // index in steps (emission order on ties)
	cust int32
	kind uint8
}

// writeConsents writes every planned consent event as NDJSON: in order of
// effective_at, then the late-recorded ones. It returns how many it wrote.
func (w *world) writeConsents(bw *bufio.Writer, r *rand.Rand) (int, error) {
	var refs, late []consentRef
	for ci := range w.customers {
		for kind, p := range w.customers[ci].plans {
			for i := p.first; i < p.first+p.n; i++ {
				ref := consentRef{at: w.steps[i].at, idx: i, cust: int32(ci), kind: uint8(kind)}
				if p.late {
					late = append(late, ref)
				} else {
					refs = append(refs, ref)
				}
			}
		}
	}
	slices.SortFunc(refs, func(a, b consentRef) int {
		if a.at != b.at {
			return cmpInt64(a.at, b.at)
		}
		return int(a.idx - b.idx)
	})
	var ts tsFormatter
	buf := make([]byte, 0, 1024)
	for k, ref := range append(refs, late...) {
		buf = w.appendConsent(buf[:0], &ts, r, ref, k >= len(refs))
		if _, err := bw.Write(buf); err != nil {
			return k, err
		}
	}
	return len(refs) + len(late), nil
}

func cmpInt64(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// appendConsent appends one consent event line.
func (w *world) appendConsent(b []byte, ts *tsFormatter, r *rand.Rand, ref consentRef, late bool) []byte {
	s := w.steps[ref.idx]
	cust := int(ref.cust)
	b = append(b, `{"consent_event_id":"`...)
	b = appendUUID(b, r)
	b = append(b, `","consent_id":"`...)
	b = appendConsentID(b, ref.kind, cust)
	b = appendCustomerID(append(b, `","subject_id":"`...), cust)
	b = append(b, '"')
	b = appendField(b, "recipient_id", consentRecipient[ref.kind].id)
	method := "opt_in_messenger"
	if ref.kind != kindMsg {
		method = "opt_in_web"
	}
	if s.granted {
		b = appendField(b, "status", "granted")
		b = appendMaskArray(appendKey(b, "purposes"), s.purposes, purposeNames[:])
		b = appendMaskArray(appendKey(b, "data_categories"), s.cats, categoryNames[:])
	} else {
		b = appendField(b, "status", "withdrawn")
		method = "opt_out_messenger"
	}
	b = append(appendKey(b, "effective_at"), '"')
	b = append(ts.appendTimestamp(b, s.at), '"')
	if s.expires != 0 {
		b = append(appendKey(b, "expires_at"), '"')
		b = append(ts.appendTimestamp(b, s.expires), '"')
	}
	notice := "2025-09"
	if s.at < w.from-365*msPerDay {
		notice = "2024-06"
	}
	b = appendField(b, "method", method)
	b = appendField(b, "notice_version", notice)
	b = appendField(b, "jurisdiction", jurisdictions[w.customers[cust].jur])
	b = append(appendKey(b, "proof_sha256"), '"')
	b = append(appendHex(b, r, 64), '"')
	if late {
		b = append(b, `,"attributes":{"synth_late":"true"}`...)
	}
	return append(b, '}', '\n')
}
