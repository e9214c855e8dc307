package sqlconsole

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/privaudit/privaudit/audit"
	"github.com/privaudit/privaudit/queries"
)

// verdictStory plants one access event per verdict of SPEC §3, and one
// event ("late") whose verdict a late consent re-evaluates from no_consent
// to covered, so access_verdicts holds two raw rows for it. It returns the
// period to query and the event ids expected per verdict.
func verdictStory(t *testing.T, f *fixture) (map[string]string, map[string][]string) {
	t.Helper()
	ctx := context.Background()
	// Keep both raw versions of the re-evaluated verdict: a background merge
	// would collapse them and leave nothing for FINAL to prove.
	if err := f.env.Conn.Exec(ctx, "SYSTEM STOP MERGES privaudit.access_verdicts"); err != nil {
		t.Fatal(err)
	}
	d0 := time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, -10)
	at := func(days float64) string {
		return d0.Add(time.Duration(days * float64(24*time.Hour))).Format(time.RFC3339)
	}
	f.ingestConsents(t,
		grant(map[string]any{"consent_id": "c-1", "subject_id": "cust-1", "effective_at": at(0), "expires_at": at(40)}),
		grant(map[string]any{"consent_id": "c-w", "subject_id": "cust-3", "effective_at": at(0)}),
		grant(map[string]any{"consent_id": "c-w", "subject_id": "cust-3", "status": "withdrawn", "purposes": nil, "data_categories": nil, "effective_at": at(2)}),
		grant(map[string]any{"consent_id": "c-x", "subject_id": "cust-4", "effective_at": at(0), "expires_at": at(2)}),
	)
	id := func(n int) string { return evIDs(n)[0] }
	ev := func(n int, over map[string]any) map[string]any {
		over["event_id"] = id(n)
		if _, ok := over["occurred_at"]; !ok {
			over["occurred_at"] = at(3)
		}
		return share(over)
	}
	f.ingestEvents(t,
		ev(1, map[string]any{}),
		ev(2, map[string]any{"legal_basis": "contract"}),
		ev(3, map[string]any{"outcome": "denied"}),
		ev(4, map[string]any{"subject_id": "cust-9"}),
		ev(5, map[string]any{"consent_id": "c-none"}),
		ev(6, map[string]any{"subject_id": "cust-2", "consent_id": "c-1"}),
		ev(7, map[string]any{"recipient_id": "bank-2", "consent_id": "c-1"}),
		ev(8, map[string]any{"subject_id": "cust-3"}),
		ev(9, map[string]any{"subject_id": "cust-4"}),
		ev(10, map[string]any{"purpose": "marketing"}),
		ev(11, map[string]any{"data_categories": []string{"account_balance", "card_transactions"}}),
		ev(12, map[string]any{"subject_id": "cust-5"}),
	)
	f.ingestConsents(t, grant(map[string]any{"consent_id": "c-late", "subject_id": "cust-5", "effective_at": at(1)}))
	period := map[string]string{"since": d0.Format(time.DateOnly), "until": d0.AddDate(0, 0, 10).Format(time.DateOnly)}
	return period, map[string][]string{
		"covered": {id(1), id(12)}, "other_basis": {id(2)}, "denied": {id(3)}, "no_consent": {id(4)},
		"consent_unknown": {id(5)}, "subject_mismatch": {id(6)}, "recipient_not_covered": {id(7)},
		"consent_withdrawn": {id(8)}, "consent_expired": {id(9)}, "purpose_not_covered": {id(10)},
		"category_not_covered": {id(11)},
	}
}

// verdictQueryName is the saved query of verdict v: verdict-consent-withdrawn
// for consent_withdrawn.
func verdictQueryName(v string) string {
	return "verdict-" + strings.ReplaceAll(v, "_", "-")
}

// TestVerdictsInAdHocSQL checks the stored verdicts as officers query them:
// the read-only reader selects from the view privaudit.verdicts, which
// returns exactly the rows of access_verdicts FINAL (one per event, though
// a re-evaluated event has two raw rows), and each per-verdict saved query
// returns exactly the events of its verdict, the re-evaluated one only
// under its current verdict.
func TestVerdictsInAdHocSQL(t *testing.T) {
	f := startFixture(t, fixtureOptions{})
	period, want := verdictStory(t, f)
	late := want["covered"][1]
	if n := f.env.Count(t, "SELECT count() FROM privaudit.access_verdicts WHERE event_id = ?", late); n != 2 {
		t.Fatalf("the re-evaluated event has %d raw verdict rows, want 2 (its first and its re-evaluated verdict)", n)
	}

	t.Run("view", func(t *testing.T) {
		const cols = "event_id, verdict, verdict_consent_id, verdict_detail, toString(evaluated_at), toString(occurred_at), subject_id"
		code, body, _ := f.query(t, Request{SQL: "SELECT " + cols + " FROM privaudit.verdicts ORDER BY event_id"})
		if code != http.StatusOK {
			t.Fatalf("the officer cannot read privaudit.verdicts: %d %s", code, body)
		}
		doc := decodeJSONResult(t, body)
		var got []string
		for _, r := range doc.Rows {
			got = append(got, fmt.Sprint(r...))
		}
		rows, err := f.env.Conn.Query(context.Background(), "SELECT "+cols+" FROM privaudit.access_verdicts FINAL ORDER BY event_id")
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var exp []string
		for rows.Next() {
			var a, b, c, d, e, g, h string
			if err := rows.Scan(&a, &b, &c, &d, &e, &g, &h); err != nil {
				t.Fatal(err)
			}
			exp = append(exp, fmt.Sprint(a, b, c, d, e, g, h))
		}
		if len(exp) != 12 || strings.Join(got, "\n") != strings.Join(exp, "\n") {
			t.Errorf("privaudit.verdicts:\n%s\nwant access_verdicts FINAL (12 events):\n%s", strings.Join(got, "\n"), strings.Join(exp, "\n"))
		}
	})

	t.Run("view columns", func(t *testing.T) {
		cols := func(table string) []string {
			rows, err := f.env.Conn.Query(context.Background(),
				"SELECT name FROM system.columns WHERE database = 'privaudit' AND table = ? ORDER BY name", table)
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			var out []string
			for rows.Next() {
				var n string
				if err := rows.Scan(&n); err != nil {
					t.Fatal(err)
				}
				if n != "occurred_ns" && n != "ingest_seq" && n != "ledger_position" {
					out = append(out, n)
				}
			}
			return out
		}
		if got, want := cols("verdicts"), cols("access_verdicts"); len(want) < 20 || strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("privaudit.verdicts has columns %v, want those of access_verdicts but its bookkeeping: %v "+
				"(a column added to access_verdicts needs a migration recreating the view)", got, want)
		}
	})

	t.Run("README examples", func(t *testing.T) {
		b, err := os.ReadFile("../../README.md")
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, block := range strings.Split(string(b), "```sql\n")[1:] {
			sql, _, _ := strings.Cut(block, "```")
			if !strings.Contains(sql, "privaudit.verdicts") && !strings.Contains(sql, "AS finding") {
				continue
			}
			n++
			if code, body, _ := f.query(t, Request{SQL: sql}); code != http.StatusOK {
				t.Errorf("README example fails as the officer: %d %s\n%s", code, body, sql)
			}
		}
		if n < 2 {
			t.Errorf("found %d README examples on the verdicts, want 2", n)
		}
	})

	t.Run("per-verdict saved queries", func(t *testing.T) {
		for _, v := range audit.VerdictNames() {
			code, body, _ := f.query(t, Request{Saved: verdictQueryName(v), Params: period})
			if code != http.StatusOK {
				t.Errorf("%s: %d %s", verdictQueryName(v), code, body)
				continue
			}
			doc := decodeJSONResult(t, body)
			got := doc.column(t, "event_id")
			if strings.Join(got, "|") != strings.Join(want[v], "|") {
				t.Errorf("%s: events %q, want %q", verdictQueryName(v), got, want[v])
			}
			for _, vv := range doc.column(t, "verdict") {
				if vv != v {
					t.Errorf("%s: a row of verdict %s", verdictQueryName(v), vv)
				}
			}
		}
		code, body, _ := f.query(t, Request{Saved: "verdict-consent-withdrawn", Params: withParams(period, "subject", "cust-3", "disclosures_only", "1")})
		if code != http.StatusOK {
			t.Fatalf("%d %s", code, body)
		}
		doc := decodeJSONResult(t, body)
		if d := doc.column(t, "detail"); len(d) != 1 || !strings.HasPrefix(d[0], "consent c-w withdrawn at ") {
			t.Errorf("verdict-consent-withdrawn for cust-3: detail %q, want the withdrawal of c-w", d)
		}
		code, body, _ = f.query(t, Request{Saved: "verdict-consent-withdrawn", Params: withParams(period, "subject", "cust-1")})
		if doc := decodeJSONResult(t, body); code != http.StatusOK || len(doc.Rows) != 0 {
			t.Errorf("verdict-consent-withdrawn for cust-1: %d, %d rows, want none", code, len(doc.Rows))
		}
	})
}

// withParams copies base and sets the name/value pairs of kv.
func withParams(base map[string]string, kv ...string) map[string]string {
	m := map[string]string{}
	for k, v := range base {
		m[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}

// TestSavedQueryPerVerdict checks that the library lists one saved query
// per verdict of audit.Verdicts, by name, titled and with the usual period
// parameters.
func TestSavedQueryPerVerdict(t *testing.T) {
	all, err := queries.Saved()
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]queries.SavedQuery{}
	var names []string
	for _, q := range all {
		byName[q.Name] = q
		names = append(names, q.Name)
	}
	if !sort.StringsAreSorted(names) {
		t.Errorf("saved queries not listed by name: %v", names)
	}
	for _, v := range audit.VerdictNames() {
		q, ok := byName[verdictQueryName(v)]
		if !ok {
			t.Errorf("no saved query %s for verdict %s", verdictQueryName(v), v)
			continue
		}
		if q.Title == "" || len(q.Params) < 2 || q.Params[0].Name != "since" || q.Params[1].Name != "until" {
			t.Errorf("%s: title %q, params %+v", q.Name, q.Title, q.Params)
		}
	}
}

// TestUnknownSavedQuerySuggestsNearest checks that a mistyped saved query
// or parameter name is refused with the nearest name.
func TestUnknownSavedQuerySuggestsNearest(t *testing.T) {
	f := startFixture(t, fixtureOptions{})
	code, body, _ := f.query(t, Request{Saved: "shares-after-withdrawl", Params: map[string]string{"since": "2026-01-01", "until": "2026-02-01"}})
	if code != http.StatusNotFound || !strings.Contains(body, "did you mean shares-after-withdrawal?") {
		t.Errorf("mistyped saved query: %d %s, want 404 suggesting shares-after-withdrawal", code, body)
	}
	code, body, _ = f.query(t, Request{Saved: "shares-after-withdrawal", Params: map[string]string{"since": "2026-01-01", "until": "2026-02-01", "recipent": "adnet"}})
	if code != http.StatusBadRequest || !strings.Contains(body, `unknown parameter \"recipent\" (did you mean recipient?)`) {
		t.Errorf("mistyped parameter: %d %s, want 400 suggesting recipient", code, body)
	}
}

// TestSavedQueriesWaitForVerdicts checks that a saved query answers from the
// verdicts as of the request: while a consent accepted before it is not yet
// stored with its re-evaluation (its writer is held back by a detached
// bookkeeping table), the saved query is refused as unavailable rather than
// answering with the stale verdict, and once the writer catches up it
// answers with the new one.
func TestSavedQueriesWaitForVerdicts(t *testing.T) {
	f := startFixture(t, fixtureOptions{Console: Options{FreshWait: 2 * time.Second}})
	ctx := context.Background()
	at := time.Now().UTC().Add(-time.Hour)
	f.ingestEvents(t, share(map[string]any{"event_id": evIDs(1)[0], "subject_id": "cust-7", "occurred_at": at.Format(time.RFC3339)}))
	period := map[string]string{"since": at.Format(time.DateOnly), "until": at.AddDate(0, 0, 1).Format(time.DateOnly)}
	verdicts := func() (int, string) {
		code, body, _ := f.query(t, Request{Saved: "verdict-no-consent", Params: withParams(period, "subject", "cust-7")})
		return code, body
	}
	if code, body := verdicts(); code != http.StatusOK || len(decodeJSONResult(t, body).Rows) != 1 {
		t.Fatalf("before the consent: %d %s, want the event as no_consent", code, body)
	}
	if err := f.env.Conn.Exec(ctx, "DETACH TABLE privaudit_meta.consent_subjects"); err != nil {
		t.Fatal(err)
	}
	attached := false
	attach := func() {
		if !attached {
			attached = true
			if err := f.env.Conn.Exec(ctx, "ATTACH TABLE privaudit_meta.consent_subjects"); err != nil {
				t.Fatal(err)
			}
		}
	}
	defer attach()
	if code, body := f.env.Post(t, "consents", ndjson(t, []map[string]any{grant(map[string]any{"consent_id": "c-7", "subject_id": "cust-7"})})); code != http.StatusOK {
		t.Fatalf("post consent: %d %s", code, body)
	}
	code, body := verdicts()
	if code != http.StatusServiceUnavailable || !strings.Contains(body, "the stored verdicts do not yet reflect") {
		t.Errorf("while the consent's verdicts are pending: %d %s, want 503 naming the pending verdicts", code, body)
	}
	attach()
	f.env.WaitStored(t)
	if code, body := verdicts(); code != http.StatusOK || len(decodeJSONResult(t, body).Rows) != 0 {
		t.Errorf("after the consent is stored: %d %s, want no no_consent event", code, body)
	}
}
