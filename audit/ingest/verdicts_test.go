package ingest_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/privaudit/privaudit/audit"
	"github.com/privaudit/privaudit/audit/ingest/ingesttest"
)

// verdictBase is the time the scenarios' accesses happen.
var verdictBase = ingesttest.VerdictBase

// The scenarios' records, as ingesttest builds them.
var (
	uid         = ingesttest.UID
	wireEvent   = ingesttest.WireEvent
	wireConsent = ingesttest.WireConsent
)

// storedVerdict is one row of access_verdicts FINAL.
type storedVerdict struct {
	verdict, consentID, detail string
}

// storedVerdicts reads the verdict store.
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
		out[id] = v
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// checkAgainstReference fails the test for every stored verdict that is
// missing, doubled or differs from the reference evaluator's.
func checkAgainstReference(t *testing.T, env *ingesttest.Env) int {
	t.Helper()
	n, diffs, err := ingesttest.VerdictDiff(context.Background(), env.Conn)
	if err != nil {
		t.Fatal(err)
	}
	for i, d := range diffs {
		if i < 10 {
			t.Error(d)
		}
	}
	if len(diffs) > 0 {
		t.Errorf("%d of %d stored verdicts differ from the reference", len(diffs), n)
	}
	return n
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

// TestVerdictsRandomInterleaving stores consents and accesses of the same
// subjects in 100 random orders, as concurrent requests (see
// ingesttest.Interleave), then every stored verdict must be the reference
// evaluator's over the whole ledger. reports/verify runs the same load and
// checks it with the SQL engine.
func TestVerdictsRandomInterleaving(t *testing.T) {
	env := ingesttest.Start(t, ingesttest.Options{})
	reqs := ingesttest.Interleave(t, env, 15, 100)
	n := checkAgainstReference(t, env)
	kinds := map[string]int{}
	for _, v := range storedVerdicts(t, env) {
		kinds[v.verdict]++
	}
	if len(kinds) < 6 {
		t.Errorf("the rounds exercise only %d verdicts: %v", len(kinds), kinds)
	}
	t.Logf("%d requests, %d events; verdicts %v", reqs, n, kinds)
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

// TestRecoversStoredWithoutVerdict covers the window a crash or a failed
// batch leaves: records stored whose verdict work did not happen. The
// verdict store is moved away, so the writers store an access and a consent
// but fail to evaluate; once it is back, the retried batches find the
// records already stored and must still evaluate the access and
// re-evaluate for the consent.
func TestRecoversStoredWithoutVerdict(t *testing.T) {
	env := ingesttest.Start(t, ingesttest.Options{})
	ctx := context.Background()
	env.Ingest(t, audit.KindEvents, wireEvent("kept", "rs2", "msg", "fraud_alert", "", verdictBase, "iban")+"\n")
	if err := env.Conn.Exec(ctx, "RENAME TABLE privaudit.access_verdicts TO privaudit.access_verdicts_away"); err != nil {
		t.Fatal(err)
	}
	post := func(kind audit.Kind, body string) {
		if code, resp := env.Post(t, kind, body+"\n"); code != 200 {
			t.Fatal(code, resp)
		}
	}
	post(audit.KindEvents, wireEvent("lost", "rs1", "msg", "fraud_alert", "", verdictBase, "iban"))
	post(audit.KindConsents, wireConsent("rc2", "rc2", "rs2", "msg", "granted", verdictBase.Add(-24*time.Hour),
		[]string{"fraud_alert"}, []string{"iban"}))
	deadline := time.Now().Add(time.Minute)
	for env.Count(t, "SELECT count() FROM privaudit.access_events")+env.Count(t, "SELECT count() FROM privaudit.consent_events") < 3 {
		if time.Now().After(deadline) {
			t.Fatal("the records were not stored within a minute")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := env.Conn.Exec(ctx, "RENAME TABLE privaudit.access_verdicts_away TO privaudit.access_verdicts"); err != nil {
		t.Fatal(err)
	}
	env.WaitStored(t)
	if got := checkAgainstReference(t, env); got != 2 {
		t.Errorf("%d events checked, want 2", got)
	}
	if v := storedVerdicts(t, env)[uid("kept")]; v.verdict != "covered" {
		t.Errorf("kept: %s, want covered once the retried consent batch re-evaluates it", v.verdict)
	}
	if n := env.Count(t, "SELECT count() FROM privaudit.access_events"); n != 2 {
		t.Errorf("%d raw access event rows, want 2: a retried batch must not store a record twice", n)
	}
}

// TestVerdictStoreHoldsEventColumns: access_verdicts restates the columns
// of access_events (migration 0050); they must stay the same columns, of
// the same types, in the same order, followed by the verdict's own.
func TestVerdictStoreHoldsEventColumns(t *testing.T) {
	env := ingesttest.Start(t, ingesttest.Options{})
	columns := func(table string) []string {
		rows, err := env.Conn.Query(context.Background(),
			"SELECT name, type FROM system.columns WHERE database = 'privaudit' AND table = ?", table) // in table order
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var out []string
		for rows.Next() {
			var name, typ string
			if err := rows.Scan(&name, &typ); err != nil {
				t.Fatal(err)
			}
			out = append(out, name+" "+typ)
		}
		return out
	}
	events, verdicts := columns("access_events"), columns("access_verdicts")
	want := append(slices.DeleteFunc(slices.Clone(events), func(c string) bool { return c == "batch_id String" }),
		"is_disclosure UInt8", "verdict String", "verdict_consent_id String", "verdict_detail String",
		"missing_categories Array(String)", "is_violation UInt8", "ledger_position UInt64", "evaluated_at DateTime")
	if !slices.Equal(verdicts, want) {
		t.Errorf("access_verdicts columns\n%v\nwant access_events' (but batch_id) and the verdict's\n%v", verdicts, want)
	}
}
