package ingest_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/privaudit/privaudit/audit"
	"github.com/privaudit/privaudit/audit/ingest/ingesttest"
)

// verdictBase is the time the scenarios' accesses happen.
var verdictBase = time.Date(2026, 10, 10, 12, 0, 0, 0, time.UTC)

// uid is a UUID named by s, for records the scenarios refer to by name.
func uid(s string) string {
	h := sha256.Sum256([]byte(s))
	return "00000000-0000-4000-8000-" + hex.EncodeToString(h[:6])
}

// wireEvent is an access event on the wire for the verdict scenarios.
func wireEvent(id, subject, recipient, purpose, consentID string, at time.Time, cats ...string) string {
	m := map[string]any{"event_id": uid(id), "occurred_at": at.Format(time.RFC3339Nano), "actor_id": "svc",
		"actor_type": "service", "subject_id": subject, "action": "share", "data_categories": cats,
		"recipient_id": recipient, "recipient_type": "third_party", "purpose": purpose,
		"legal_basis": "consent", "record_count": 1, "channel": "api"}
	if consentID != "" {
		m["consent_id"] = consentID
	}
	b, _ := json.Marshal(m)
	return string(b)
}

// wireConsent is a consent event on the wire for the verdict scenarios.
func wireConsent(id, consentID, subject, recipient, status string, at time.Time, purposes, cats []string) string {
	b, _ := json.Marshal(map[string]any{"consent_event_id": uid(id), "consent_id": consentID, "subject_id": subject,
		"recipient_id": recipient, "status": status, "purposes": purposes, "data_categories": cats,
		"effective_at": at.Format(time.RFC3339Nano), "method": "opt_in_app"})
	return string(b)
}

// storedVerdict is one row of access_verdicts FINAL.
type storedVerdict struct {
	verdict, consentID, detail string
}

// storedVerdicts reads the verdict store, checking that it holds exactly
// one verdict per stored access event.
func storedVerdicts(t *testing.T, env *ingesttest.Env) map[string]storedVerdict {
	t.Helper()
	rows, err := env.Conn.Query(context.Background(),
		"SELECT event_id, verdict, verdict_consent_id, verdict_detail FROM privaudit.access_verdicts FINAL")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]storedVerdict{}
	for rows.Next() {
		var id string
		var v storedVerdict
		if err := rows.Scan(&id, &v.verdict, &v.consentID, &v.detail); err != nil {
			t.Fatal(err)
		}
		if _, dup := out[id]; dup {
			t.Fatalf("event %s has two verdicts after FINAL", id)
		}
		out[id] = v
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if n := env.Count(t, "SELECT uniqExact(event_id) FROM privaudit.access_events"); n != uint64(len(out)) {
		t.Fatalf("%d access events stored, %d with a stored verdict", n, len(out))
	}
	return out
}

// referenceVerdicts evaluates every stored access event against the whole
// stored consent ledger with the in-memory reference evaluator.
func referenceVerdicts(t *testing.T, env *ingesttest.Env) map[string]audit.Evaluation {
	t.Helper()
	ctx := context.Background()
	crows, err := env.Conn.Query(ctx, `SELECT consent_event_id, consent_id, subject_id, recipient_id, status, purposes,
		data_categories, effective_ns, has_expiry, expires_ns FROM privaudit.consent_events FINAL ORDER BY ingest_seq, consent_event_id`)
	if err != nil {
		t.Fatal(err)
	}
	l := &audit.Ledger{}
	for crows.Next() {
		var c audit.Consent
		var eff, exp int64
		var has uint8
		if err := crows.Scan(&c.ConsentEventID, &c.ConsentID, &c.SubjectID, &c.RecipientID, &c.Status, &c.Purposes,
			&c.DataCategories, &eff, &has, &exp); err != nil {
			t.Fatal(err)
		}
		c.EffectiveAt = time.Unix(0, eff).UTC()
		if has == 1 {
			x := time.Unix(0, exp).UTC()
			c.ExpiresAt = &x
		}
		l.Add(c)
	}
	crows.Close()
	erows, err := env.Conn.Query(ctx, `SELECT event_id, occurred_ns, subject_id, action, data_categories, recipient_id,
		recipient_type, purpose, legal_basis, consent_id, outcome FROM privaudit.access_events FINAL`)
	if err != nil {
		t.Fatal(err)
	}
	defer erows.Close()
	out := map[string]audit.Evaluation{}
	for erows.Next() {
		var e audit.Event
		var ns int64
		if err := erows.Scan(&e.EventID, &ns, &e.SubjectID, &e.Action, &e.DataCategories, &e.RecipientID,
			&e.RecipientType, &e.Purpose, &e.LegalBasis, &e.ConsentID, &e.Outcome); err != nil {
			t.Fatal(err)
		}
		e.OccurredAt = time.Unix(0, ns).UTC()
		out[e.EventID] = l.Evaluate(&e)
	}
	return out
}

// checkAgainstReference fails the test for every stored verdict that
// differs from the reference evaluator's.
func checkAgainstReference(t *testing.T, env *ingesttest.Env) int {
	t.Helper()
	got, want := storedVerdicts(t, env), referenceVerdicts(t, env)
	bad := 0
	for id, w := range want {
		g := got[id]
		if g.verdict != string(w.Verdict) || g.consentID != w.ConsentID || g.detail != w.Detail {
			if bad++; bad <= 10 {
				t.Errorf("event %s: stored %s %q %q, reference %s %q %q", id, g.verdict, g.consentID, g.detail,
					w.Verdict, w.ConsentID, w.Detail)
			}
		}
	}
	if bad > 0 {
		t.Errorf("%d of %d stored verdicts differ from the reference", bad, len(want))
	}
	return len(want)
}

// transition is one scenario of TestLateConsentTransitions: consents stored
// first, one event, consents stored late, and the verdict before and after.
type transition struct {
	name           string
	early, late    []string
	event          string
	before, after  audit.Verdict
	rewrittenAfter bool
}

func transitions() []transition {
	d := 24 * time.Hour
	b := verdictBase
	p, a := []string{"fraud_alert"}, []string{"account_balance"}
	grant := func(id, cid, subj string, at time.Time, purposes, cats []string) string {
		return wireConsent(id, cid, subj, "msg", "granted", at, purposes, cats)
	}
	withdraw := func(id, cid, subj string, at time.Time) string {
		return wireConsent(id, cid, subj, "msg", "withdrawn", at, nil, nil)
	}
	return []transition{
		{name: "covered to consent_withdrawn", early: []string{grant("t1a", "c1", "s1", b.Add(-2*d), p, a)},
			event: wireEvent("e1", "s1", "msg", "fraud_alert", "c1", b, "account_balance"),
			late:  []string{withdraw("t1b", "c1", "s1", b.Add(-d))}, before: audit.VerdictCovered, after: audit.VerdictConsentWithdrawn},
		{name: "no_consent to covered", event: wireEvent("e2", "s2", "msg", "fraud_alert", "", b, "account_balance"),
			late: []string{grant("t2a", "c2", "s2", b.Add(-d), p, a)}, before: audit.VerdictNoConsent, after: audit.VerdictCovered},
		{name: "purpose_not_covered to covered after a re-grant",
			early:  []string{grant("t3a", "c3", "s3", b.Add(-2*d), []string{"marketing"}, a)},
			event:  wireEvent("e3", "s3", "msg", "fraud_alert", "c3", b, "account_balance"),
			late:   []string{grant("t3b", "c3", "s3", b.Add(-d), []string{"marketing", "fraud_alert"}, a)},
			before: audit.VerdictPurposeNotCovered, after: audit.VerdictCovered},
		{name: "consent_unknown to covered", event: wireEvent("e4", "s4", "msg", "fraud_alert", "c4", b, "account_balance"),
			late: []string{grant("t4a", "c4", "s4", b.Add(-d), p, a)}, before: audit.VerdictConsentUnknown, after: audit.VerdictCovered},
		{name: "consent_unknown to subject_mismatch", event: wireEvent("e5", "s5", "msg", "fraud_alert", "c5", b, "account_balance"),
			late: []string{grant("t5a", "c5", "s5-other", b.Add(-d), p, a)}, before: audit.VerdictConsentUnknown, after: audit.VerdictSubjectMismatch},
		{name: "category_not_covered to covered", early: []string{grant("t6a", "c6", "s6", b.Add(-2*d), p, a)},
			event:  wireEvent("e6", "s6", "msg", "fraud_alert", "c6", b, "account_balance", "iban"),
			late:   []string{grant("t6b", "c6", "s6", b.Add(-d), p, []string{"account_balance", "iban"})},
			before: audit.VerdictCategoryNotCovered, after: audit.VerdictCovered},
		{name: "unnamed: covered to consent_withdrawn", early: []string{grant("t7a", "c7", "s7", b.Add(-2*d), p, a)},
			event: wireEvent("e7", "s7", "msg", "fraud_alert", "", b, "account_balance"),
			late:  []string{withdraw("t7b", "c7", "s7", b.Add(-d))}, before: audit.VerdictCovered, after: audit.VerdictConsentWithdrawn},
		{name: "consent moved to another subject: covered to subject_mismatch", early: []string{grant("t8a", "c8", "s8", b.Add(-2*d), p, a)},
			event: wireEvent("e8", "s8", "msg", "fraud_alert", "c8", b, "account_balance"),
			late:  []string{grant("t8b", "c8", "s8-new", b.Add(-d), p, a)}, before: audit.VerdictCovered, after: audit.VerdictSubjectMismatch},
		{name: "withdrawal effective after the access changes nothing", early: []string{grant("t9a", "c9", "s9", b.Add(-2*d), p, a)},
			event: wireEvent("e9", "s9", "msg", "fraud_alert", "c9", b, "account_balance"),
			late:  []string{withdraw("t9b", "c9", "s9", b.Add(d))}, before: audit.VerdictCovered, after: audit.VerdictCovered},
		{name: "no_consent to consent_withdrawn: a consent newly naming the pair is a candidate before that event",
			early: []string{wireConsent("t10a", "c10", "s10", "card", "withdrawn", b.Add(-2*d), nil, nil)},
			event: wireEvent("e10", "s10", "msg", "fraud_alert", "", b, "account_balance"),
			late:  []string{grant("t10b", "c10", "s10", b.Add(d), p, a)}, before: audit.VerdictNoConsent, after: audit.VerdictConsentWithdrawn},
	}
}

// TestLateConsentTransitions drives each verdict transition a consent
// stored after the events it covers can cause, and checks the stored
// verdict before and after, against the reference evaluator too.
func TestLateConsentTransitions(t *testing.T) {
	env := ingesttest.Start(t, ingesttest.Options{})
	ts := transitions()
	var early, events, late []string
	for _, tr := range ts {
		early, late, events = append(early, tr.early...), append(late, tr.late...), append(events, tr.event)
	}
	env.Ingest(t, audit.KindConsents, strings.Join(early, "\n")+"\n")
	env.Ingest(t, audit.KindEvents, strings.Join(events, "\n")+"\n")
	check := func(when string, want func(transition) audit.Verdict) {
		t.Helper()
		got := storedVerdicts(t, env)
		for i, tr := range ts {
			id := uid(fmt.Sprintf("e%d", i+1))
			if got[id].verdict != string(want(tr)) {
				t.Errorf("%s: %s: stored %s (%s), want %s", tr.name, when, got[id].verdict, got[id].detail, want(tr))
			}
		}
		checkAgainstReference(t, env)
	}
	check("before the late consents", func(tr transition) audit.Verdict { return tr.before })
	env.Ingest(t, audit.KindConsents, strings.Join(late, "\n")+"\n")
	check("after the late consents", func(tr transition) audit.Verdict { return tr.after })
	// A verdict the late consents cannot change is not rewritten.
	if n := env.Count(t, "SELECT count() FROM privaudit.access_verdicts WHERE event_id = ?", uid("e9")); n != 1 {
		t.Errorf("e9 has %d verdict rows, want 1: a withdrawal effective after the access must not re-evaluate it", n)
	}
	if n := env.Count(t, "SELECT count() FROM privaudit.access_verdicts WHERE event_id = ?", uid("e1")); n != 2 {
		t.Errorf("e1 has %d verdict rows, want 2 (its first verdict and the re-evaluation)", n)
	}
}

// randomRound returns the records of one round of
// TestVerdictsRandomInterleaving: a few consents and accesses of the same
// subjects, with ties of effective_at, withdrawals, re-grants, consents
// moved between subjects, and accesses naming a consent or none.
func randomRound(rng *rand.Rand, round int) (consents, events []string) {
	name := func(kind string, i int) string { return fmt.Sprintf("r%d-%s%d", round, kind, i) }
	pick := func(xs ...string) string { return xs[rng.IntN(len(xs))] }
	some := func(xs ...string) []string {
		var out []string
		for _, x := range xs {
			if rng.IntN(2) == 0 {
				out = append(out, x)
			}
		}
		if len(out) == 0 {
			out = append(out, xs[0])
		}
		return out
	}
	at := func() time.Time { return verdictBase.Add(time.Duration(rng.IntN(6)-3) * time.Hour) }
	for i := range 3 + rng.IntN(5) {
		c := rng.IntN(3)
		subj := name("s", c)
		if rng.IntN(6) == 0 {
			subj = name("s", rng.IntN(3))
		}
		status := pick("granted", "granted", "withdrawn")
		purposes, cats := some("fraud_alert", "balance_inquiry"), some("account_balance", "iban")
		if status == "withdrawn" {
			purposes, cats = nil, nil
		}
		consents = append(consents, wireConsent(name("ce", i), name("c", c), subj, pick("msg", "card"), status, at(), purposes, cats))
	}
	for i := range 4 + rng.IntN(6) {
		consent := ""
		if rng.IntN(2) == 0 {
			consent = name("c", rng.IntN(4)) // c3 is never given: consent_unknown
		}
		events = append(events, wireEvent(name("e", i), name("s", rng.IntN(3)), pick("msg", "card"),
			pick("fraud_alert", "balance_inquiry"), consent, at().Add(30*time.Minute), some("account_balance", "iban")...))
	}
	return consents, events
}

// TestVerdictsRandomInterleaving stores consents and accesses of the same
// subjects in 100 random orders, as concurrent requests of one to three
// records, so consents arrive before, with and after the accesses they
// decide and the two writers' batches interleave; then every stored verdict
// must be the reference evaluator's over the whole ledger.
func TestVerdictsRandomInterleaving(t *testing.T) {
	env := ingesttest.Start(t, ingesttest.Options{})
	rng := rand.New(rand.NewPCG(15, 100))
	type request struct {
		kind audit.Kind
		body string
	}
	var reqs []request
	for round := range 100 {
		consents, events := randomRound(rng, round)
		var recs []request
		for _, c := range consents {
			recs = append(recs, request{audit.KindConsents, c})
		}
		for _, e := range events {
			recs = append(recs, request{audit.KindEvents, e})
		}
		rng.Shuffle(len(recs), func(i, j int) { recs[i], recs[j] = recs[j], recs[i] })
		for len(recs) > 0 {
			n := 1
			for n < min(3, len(recs)) && recs[n].kind == recs[0].kind && rng.IntN(2) == 0 {
				n++
			}
			var lines []string
			for _, r := range recs[:n] {
				lines = append(lines, r.body)
			}
			reqs = append(reqs, request{recs[0].kind, strings.Join(lines, "\n") + "\n"})
			recs = recs[n:]
		}
	}
	work := make(chan request)
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range work {
				if code, resp := env.Post(t, r.kind, r.body); code != 200 {
					t.Errorf("post %s: %d %s", r.kind, code, resp)
				}
			}
		}()
	}
	for _, r := range reqs {
		work <- r
	}
	close(work)
	wg.Wait()
	env.WaitStored(t)
	n := checkAgainstReference(t, env)
	got := storedVerdicts(t, env)
	kinds := map[string]int{}
	for _, v := range got {
		kinds[v.verdict]++
	}
	if len(kinds) < 6 {
		t.Errorf("the rounds exercise only %d verdicts: %v", len(kinds), kinds)
	}
	t.Logf("%d requests, %d events; verdicts %v", len(reqs), n, kinds)
}

// TestWaitVerdicts checks that WaitVerdicts returns only once every record
// acknowledged before the call has its stored verdict.
func TestWaitVerdicts(t *testing.T) {
	env := ingesttest.Start(t, ingesttest.Options{})
	var events []string
	for i := range 200 {
		events = append(events, wireEvent(fmt.Sprintf("w%d", i), fmt.Sprintf("ws%d", i%7), "msg", "fraud_alert", "", verdictBase, "iban"))
	}
	if code, resp := env.Post(t, audit.KindConsents, wireConsent("wc", "wc", "ws1", "msg", "granted", verdictBase.Add(-time.Hour),
		[]string{"fraud_alert"}, []string{"iban"})+"\n"); code != 200 {
		t.Fatal(code, resp)
	}
	if code, resp := env.Post(t, audit.KindEvents, strings.Join(events, "\n")+"\n"); code != 200 {
		t.Fatal(code, resp)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	before := time.Now()
	at, err := env.Ingestor.WaitVerdicts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if at.Before(before) {
		t.Errorf("WaitVerdicts says %v, before it was called (%v)", at, before)
	}
	if n := env.Count(t, "SELECT count() FROM privaudit.access_verdicts FINAL"); n != 200 {
		t.Fatalf("%d stored verdicts once WaitVerdicts returned, want 200", n)
	}
	if n := env.Count(t, "SELECT count() FROM privaudit.access_verdicts FINAL WHERE verdict = 'covered'"); n != 29 {
		t.Errorf("%d covered, want the 29 accesses of ws1", n)
	}
}
