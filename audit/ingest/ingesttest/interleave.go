package ingesttest

import (
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
)

// VerdictBase is the time around which Interleave's accesses happen.
var VerdictBase = time.Date(2026, 10, 10, 12, 0, 0, 0, time.UTC)

// UID is a UUID named by s, for records the scenarios refer to by name.
func UID(s string) string {
	h := sha256.Sum256([]byte(s))
	return "00000000-0000-4000-8000-" + hex.EncodeToString(h[:6])
}

// WireEvent is an access event on the wire: a share to a third party on
// the basis of consent, naming consentID unless it is empty.
func WireEvent(id, subject, recipient, purpose, consentID string, at time.Time, cats ...string) string {
	m := map[string]any{"event_id": UID(id), "occurred_at": at.Format(time.RFC3339Nano), "actor_id": "svc",
		"actor_type": "service", "subject_id": subject, "action": "share", "data_categories": cats,
		"recipient_id": recipient, "recipient_type": "third_party", "purpose": purpose,
		"legal_basis": "consent", "record_count": 1, "channel": "api"}
	if consentID != "" {
		m["consent_id"] = consentID
	}
	b, _ := json.Marshal(m)
	return string(b)
}

// WireConsent is a consent event on the wire.
func WireConsent(id, consentID, subject, recipient, status string, at time.Time, purposes, cats []string) string {
	b, _ := json.Marshal(map[string]any{"consent_event_id": UID(id), "consent_id": consentID, "subject_id": subject,
		"recipient_id": recipient, "status": status, "purposes": purposes, "data_categories": cats,
		"effective_at": at.Format(time.RFC3339Nano), "method": "opt_in_app"})
	return string(b)
}

// randomRound returns the records of one round of
// Interleave: a few consents and accesses of the same
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
	at := func() time.Time { return VerdictBase.Add(time.Duration(rng.IntN(6)-3) * time.Hour) }
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
		consents = append(consents, WireConsent(name("ce", i), name("c", c), subj, pick("msg", "card"), status, at(), purposes, cats))
	}
	for i := range 4 + rng.IntN(6) {
		consent := ""
		if rng.IntN(2) == 0 {
			consent = name("c", rng.IntN(4)) // c3 is never given: consent_unknown
		}
		events = append(events, WireEvent(name("e", i), name("s", rng.IntN(3)), pick("msg", "card"),
			pick("fraud_alert", "balance_inquiry"), consent, at().Add(30*time.Minute), some("account_balance", "iban")...))
	}
	return consents, events
}

// Interleave stores consents and accesses of the same subjects in rounds
// random orders (one round per namespace of subjects and consents), sent
// as concurrent requests of one to three records, so consents arrive
// before, with and after the accesses they decide and the two writers'
// batches interleave. It waits until everything is stored and returns the
// number of requests.
func Interleave(t testing.TB, env *Env, seed uint64, rounds int) int {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 100))
	type request struct {
		kind audit.Kind
		body string
	}
	var reqs []request
	for round := range rounds {
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
	return len(reqs)
}
