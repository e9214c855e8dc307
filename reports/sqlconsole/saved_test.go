package sqlconsole

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"

	"github.com/privaudit/privaudit/queries"
)

// hostileValues must survive binding as data, byte for byte.
var hostileValues = []string{
	`'`, `\`, `\'`, `';--`, `'); DROP TABLE privaudit.access_events; --`, `' OR '1'='1`,
	"ünïcødé 🙂 中文", "line\nbreak\ttab\r", "nul\x00byte", `@v ? $1 {v:String}`,
	`*/ /* --`, `\\'\\`, "`backtick`", `"double"`, `%s %d`, "",
}

// TestBoundParametersSurviveHostileValues binds hostile strings through the
// runner (clickhouse-go binds client-side on 18.16) and reads them back.
func TestBoundParametersSurviveHostileValues(t *testing.T) {
	f := startFixture(t, fixtureOptions{})
	for _, h := range hostileValues {
		rows, _, err := f.run(t, queries.Query{SQL: "SELECT @v AS v, length(@v) AS n, @v = @w AS same",
			Args: []any{clickhouse.Named("v", h), clickhouse.Named("w", h)}})
		if err != nil {
			t.Errorf("%q: %v", h, err)
			continue
		}
		if len(rows) != 1 || rows[0][0] != h || rows[0][1] != int64(len(h)) || rows[0][2] != int64(1) {
			t.Errorf("%q came back as %#v", h, rows)
		}
	}
	if n := f.env.Count(t, "SELECT count() FROM system.tables WHERE database = 'privaudit' AND name = 'access_events'"); n != 1 {
		t.Fatal("access_events is gone")
	}
}

// TestSavedQueriesWithHostileParameters runs a saved query over HTTP with
// a customer id full of quotes: it finds exactly that customer.
func TestSavedQueriesWithHostileParameters(t *testing.T) {
	f := startFixture(t, fixtureOptions{})
	evil := `O'Brien\'; DROP TABLE privaudit.access_events; -- ünï`
	f.ingestEvents(t, share(map[string]any{"subject_id": evil}), share(map[string]any{"subject_id": "cust-2"}))
	for subject, want := range map[string]int{evil: 1, `' OR '1'='1`: 0, `cust-2' --`: 0, "cust-2": 1} {
		code, body, _ := f.query(t, Request{Saved: "subject-recipients", Params: map[string]string{"subject": subject}})
		if code != http.StatusOK {
			t.Fatalf("%q: %d %s", subject, code, body)
		}
		doc := decodeJSONResult(t, body)
		if len(doc.Rows) != want {
			t.Errorf("subject %q: %d rows, want %d", subject, len(doc.Rows), want)
		}
	}
	if n := f.env.Count(t, "SELECT count() FROM privaudit.access_events WHERE subject_id = ?", evil); n != 1 {
		t.Errorf("the hostile subject is stored %d times", n)
	}
}

// ingestStory stores the story TestSavedLibraryOnClickHouse knows the
// answers for, around d0 = ten days ago, and returns d0.
func ingestStory(t *testing.T, f *fixture, now time.Time) time.Time {
	t.Helper()
	d0 := now.Truncate(24*time.Hour).AddDate(0, 0, -10)
	at := func(days float64) string {
		return d0.Add(time.Duration(days * float64(24*time.Hour))).Format(time.RFC3339)
	}
	ingestStoryConsents(t, f, now, at)
	ingestStoryEvents(t, f, at)
	return d0
}

// ingestStoryConsents: cust-1 withdrew from adnet on day 3; cust-2 withdrew
// on day 2 and granted again on day 4; c-msg-1 expires next month, c-msg-2
// later; c-old was recorded 30 days after it took effect.
func ingestStoryConsents(t *testing.T, f *fixture, now time.Time, at func(float64) string) {
	t.Helper()
	nextMonth := time.Date(now.Year(), now.Month()+1, 11, 0, 0, 0, 0, time.UTC)
	ad := map[string]any{"recipient_id": "adnet", "purposes": []string{"targeted_advertising"}, "data_categories": []string{"card_transactions"}}
	with := func(base map[string]any, over map[string]any) map[string]any {
		m := map[string]any{}
		for k, v := range base {
			m[k] = v
		}
		for k, v := range over {
			m[k] = v
		}
		return grant(m)
	}
	f.ingestConsents(t,
		with(ad, map[string]any{"consent_id": "c-ad-1", "subject_id": "cust-1", "effective_at": at(0)}),
		grant(map[string]any{"consent_id": "c-ad-1", "subject_id": "cust-1", "recipient_id": "adnet", "status": "withdrawn", "purposes": nil, "data_categories": nil, "effective_at": at(3)}),
		with(ad, map[string]any{"consent_id": "c-ad-2", "subject_id": "cust-2", "effective_at": at(0)}),
		grant(map[string]any{"consent_id": "c-ad-2", "subject_id": "cust-2", "recipient_id": "adnet", "status": "withdrawn", "purposes": nil, "data_categories": nil, "effective_at": at(2)}),
		with(ad, map[string]any{"consent_id": "c-ad-2", "subject_id": "cust-2", "effective_at": at(4)}),
		grant(map[string]any{"consent_id": "c-msg-1", "subject_id": "cust-1", "effective_at": at(0), "expires_at": nextMonth.Format(time.RFC3339)}),
		grant(map[string]any{"consent_id": "c-msg-2", "subject_id": "cust-3", "effective_at": at(0), "expires_at": nextMonth.AddDate(0, 2, 0).Format(time.RFC3339)}),
		grant(map[string]any{"consent_id": "c-old", "subject_id": "cust-4", "effective_at": now.AddDate(0, 0, -30).Format(time.RFC3339)}),
	)
}

// ingestStoryEvents: five card-transaction shares to adnet (two after a
// withdrawal, one by cust-5 who never consented), two contact-detail shares
// to adnet-2, which no customer ever consented to, a denied access, and
// emp-bulk reading 2, 2, 2, then 25 records a day.
func ingestStoryEvents(t *testing.T, f *fixture, at func(float64) string) {
	t.Helper()
	adShare := func(id, subject string, day float64, jur string) map[string]any {
		return share(map[string]any{"event_id": id, "subject_id": subject, "occurred_at": at(day), "recipient_id": "adnet",
			"purpose": "targeted_advertising", "data_categories": []string{"card_transactions"}, "jurisdiction": jur, "actor_id": "svc-adnet"})
	}
	evs := []map[string]any{
		adShare("00000000-0000-4000-8000-000000000001", "cust-1", 1, "US-NY"),
		adShare("00000000-0000-4000-8000-000000000002", "cust-1", 5, "US-NY"),
		adShare("00000000-0000-4000-8000-000000000003", "cust-2", 3, "US-CA"),
		adShare("00000000-0000-4000-8000-000000000004", "cust-2", 6, "US-CA"),
		adShare("00000000-0000-4000-8000-000000000005", "cust-5", 5.5, "US-NY"),
		share(map[string]any{"event_id": "00000000-0000-4000-8000-000000000007", "subject_id": "cust-6", "occurred_at": at(2), "recipient_id": "adnet-2",
			"purpose": "targeted_advertising", "data_categories": []string{"contact_details"}, "jurisdiction": "US-NY", "actor_id": "svc-adnet2"}),
		share(map[string]any{"event_id": "00000000-0000-4000-8000-000000000008", "subject_id": "cust-6", "occurred_at": at(7), "recipient_id": "adnet-2",
			"purpose": "targeted_advertising", "data_categories": []string{"contact_details"}, "jurisdiction": "US-NY", "actor_id": "svc-adnet2"}),
		share(map[string]any{"actor_id": "partner-x", "actor_type": "partner", "outcome": "denied", "occurred_at": at(2)}),
	}
	for day, n := range map[float64]int{1.2: 2, 2.2: 2, 3.2: 2, 4.2: 25} {
		for i := 0; i < n; i++ {
			evs = append(evs, share(map[string]any{"actor_id": "emp-bulk", "actor_type": "employee", "action": "read",
				"recipient_id": "internal", "recipient_type": "internal", "purpose": "support", "occurred_at": at(day + float64(i)/1000)}))
		}
	}
	f.ingestEvents(t, evs...)
}

// TestSavedLibraryOnClickHouse runs every saved query on a small story with
// known answers.
func TestSavedLibraryOnClickHouse(t *testing.T) {
	f := startFixture(t, fixtureOptions{})
	now := time.Now().UTC()
	d0 := ingestStory(t, f, now)
	period := map[string]string{"since": d0.AddDate(0, 0, -1).Format(time.DateOnly), "until": now.AddDate(0, 0, 1).Format(time.DateOnly)}
	p := func(extra ...string) map[string]string {
		m := map[string]string{"since": period["since"], "until": period["until"]}
		for i := 0; i+1 < len(extra); i += 2 {
			m[extra[i]] = extra[i+1]
		}
		return m
	}
	cases := []struct {
		saved  string
		params map[string]string
		col    string
		want   []string
	}{
		{"shares-after-withdrawal", p(), "event_id", evIDs(7, 3, 2, 5, 8)},
		{"shares-after-withdrawal", p(), "finding", []string{"never_consented", "withdrawn", "withdrawn", "never_consented", "never_consented"}},
		{"shares-after-withdrawal", p(), "consent_id", []string{"", "c-ad-2", "c-ad-1", "", ""}},
		{"shares-after-withdrawal", p("jurisdiction", "US-NY", "category", "card_transactions"), "event_id", evIDs(2, 5)},
		// Nobody ever consented to adnet-2: its shares are listed as such, never "0 rows".
		{"shares-after-withdrawal", p("recipient", "adnet-2"), "event_id", evIDs(7, 8)},
		{"shares-after-withdrawal", p("recipient", "adnet-2"), "finding", []string{"never_consented", "never_consented"}},
		{"shares-after-withdrawal", p("recipient", "msgr"), "event_id", nil},
		{"top-recipients-by-category", p("category", "card_transactions"), "events", []string{"5"}},
		{"top-recipients-by-category", p("category", "card_transactions"), "subjects", []string{"3"}},
		{"top-recipients-by-category", p("category", "card_transactions"), "covered", []string{"2"}},
		{"top-recipients-by-category", p("category", "card_transactions"), "violations", []string{"3"}},
		{"top-recipients-by-category", p("category", "card_transactions"), "never_consented", []string{"1"}},
		{"ad-network-subjects", p(), "subject_id", []string{"cust-1", "cust-2", "cust-5", "cust-6"}},
		{"ad-network-subjects", p(), "recipient_id", []string{"adnet", "adnet", "adnet", "adnet-2"}},
		{"ad-network-subjects", p(), "covered", []string{"1", "1", "0", "0"}},
		{"ad-network-subjects", p(), "withdrawn", []string{"1", "1", "0", "0"}},
		{"ad-network-subjects", p(), "never_consented", []string{"0", "0", "1", "2"}},
		{"ad-network-subjects", p(), "violations", []string{"1", "1", "1", "2"}},
		{"ad-network-subjects", p("recipient", "adnet-2"), "verdicts", []string{"[no_consent]"}},
		{"ad-network-subjects", p("purpose", "fraud"), "subject_id", nil},
		{"consents-expiring-next-month", nil, "consent_id", []string{"c-msg-1"}},
		{"unusual-actors", p("min_events", "10"), "actor_id", []string{"emp-bulk"}},
		{"unusual-actors", p("min_events", "10"), "events", []string{"25"}},
		{"subject-recipients", map[string]string{"subject": "cust-1"}, "recipient_id", []string{"adnet"}},
		{"subject-recipients", map[string]string{"subject": "cust-1"}, "events", []string{"2"}},
		{"subject-recipients", map[string]string{"subject": "cust-1"}, "covered", []string{"1"}},
		{"subject-recipients", map[string]string{"subject": "cust-1"}, "verdicts", []string{"[consent_withdrawn covered]"}},
		{"denied-accesses", p(), "actor_id", []string{"partner-x"}},
		{"backdated-consents", p("min_days", "20"), "consent_id", []string{"c-old"}},
	}
	all, _ := queries.Saved()
	covered := map[string]bool{}
	for _, q := range all {
		covered[q.Name] = strings.HasPrefix(q.Name, "verdict-") // TestVerdictsInAdHocSQL runs these
	}
	for _, c := range cases {
		covered[c.saved] = true
		code, body, _ := f.query(t, Request{Saved: c.saved, Params: c.params})
		if code != http.StatusOK {
			t.Errorf("%s: %d %s", c.saved, code, body)
			continue
		}
		doc := decodeJSONResult(t, body)
		if doc.Error != nil {
			t.Errorf("%s: %+v", c.saved, doc.Error)
			continue
		}
		got := doc.column(t, c.col)
		if strings.Join(got, "|") != strings.Join(c.want, "|") {
			t.Errorf("%s %v: %s = %q, want %q", c.saved, c.params, c.col, got, c.want)
		}
	}
	for _, q := range all {
		if !covered[q.Name] {
			t.Errorf("saved query %s is not tested on ClickHouse", q.Name)
		}
	}
}

// evIDs returns the story's event ids numbered ns.
func evIDs(ns ...int) []string {
	out := make([]string, len(ns))
	for i, n := range ns {
		out[i] = fmt.Sprintf("00000000-0000-4000-8000-%012d", n)
	}
	return out
}

// jsonResult is the json format of POST /v1/query.
type jsonResult struct {
	Columns []struct {
		Name string `json:"name"`
		Type string `json:"type"`
	} `json:"columns"`
	Rows         [][]any    `json:"rows"`
	RowsReturned int64      `json:"rows_returned"`
	Truncated    bool       `json:"truncated"`
	MaxRows      int        `json:"max_rows"`
	Error        *jsonError `json:"error"`
}

func decodeJSONResult(t *testing.T, body string) jsonResult {
	t.Helper()
	var doc jsonResult
	dec := json.NewDecoder(strings.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&doc); err != nil {
		t.Fatalf("bad json result: %v\n%.500s", err, body)
	}
	return doc
}

// column returns one column of the rows as text.
func (d jsonResult) column(t *testing.T, name string) []string {
	t.Helper()
	for i, c := range d.Columns {
		if c.Name == name {
			var out []string
			for _, r := range d.Rows {
				out = append(out, fmt.Sprint(r[i]))
			}
			return out
		}
	}
	t.Fatalf("no column %s in %+v", name, d.Columns)
	return nil
}
