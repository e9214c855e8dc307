package reports

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/privaudit/privaudit/audit"
	"github.com/privaudit/privaudit/audit/ingest/ingesttest"
)

// filterEnv is the golden data set plus events and consents that give
// every filter a value few rows have (testdata/*_filters.ndjson): a
// jurisdiction, an affiliate, an employee disclosing without consent, a
// consent withdrawn.
func filterEnv(t *testing.T) *ingesttest.Env {
	t.Helper()
	env := goldenEnv(t, ingesttest.Options{})
	env.Ingest(t, audit.KindConsents, readTestdata(t, "consents_filters.ndjson"))
	env.Ingest(t, audit.KindEvents, readTestdata(t, "events_filters.ndjson"))
	return env
}

// filterCase is one filter and the hand-written SQL predicate equivalent
// to it over access events and over consent events ("" when the filter
// does not apply to consents).
type filterCase struct {
	name, value       string
	access, consent   string
	state             string // over a consent's state at the end of the period
	inventoryCategory string // processing-inventory keeps only this category's rows
}

var filterCases = []filterCase{
	{name: "recipient", value: "adnet", access: "recipient_id = 'adnet'", consent: "recipient_id = 'adnet'", state: "s_recipient = 'adnet'"},
	{name: "recipient_type", value: "affiliate", access: "recipient_type = 'affiliate'"},
	{name: "data_category", value: "contact_details", access: "has(data_categories, 'contact_details')",
		consent: "consent_id IN (SELECT consent_id FROM {DB}.consent_events WHERE has(data_categories, 'contact_details'))" +
			" AND (status = 'withdrawn' OR has(data_categories, 'contact_details'))",
		state: "has(s_categories, 'contact_details')", inventoryCategory: "contact_details"},
	{name: "purpose", value: "marketing", access: "purpose = 'marketing'",
		consent: "consent_id IN (SELECT consent_id FROM {DB}.consent_events WHERE has(purposes, 'marketing'))" +
			" AND (status = 'withdrawn' OR has(purposes, 'marketing'))", state: "has(s_purposes, 'marketing')"},
	{name: "verdict", value: "no_consent", access: "verdict = 'no_consent'"},
	{name: "jurisdiction", value: "EU-DE", access: "jurisdiction = 'EU-DE'", consent: "jurisdiction = 'EU-DE'", state: "s_jurisdiction = 'EU-DE'"},
	{name: "actor", value: "emp-bob", access: "actor_id = 'emp-bob'"},
}

// filterCheck is a report and the hand-written SQL of its rows and totals
// under a predicate: rows returns one key per detail row (the key columns
// of the report joined with "|"), totals maps a Summary total's label to
// its expression over from. PRED is the filter's predicate, CPRED its
// consent predicate, {CAT} the inventory's category predicate, DB the
// database, FROM and TO the period in Unix nanoseconds.
type filterCheck struct {
	report string
	params map[string]string
	key    []string
	rows   string
	from   string
	totals map[string]string
	// figures maps a Summary total's label to a whole statement.
	figures map[string]string
}

const (
	periodNS     = "occurred_ns >= {FROM} AND occurred_ns < {TO}"
	verdictsFrom = "{DB}.access_verdicts FINAL WHERE " + periodNS
)

var filterChecks = []filterCheck{
	{report: "disclosures", key: []string{"event_id"},
		rows: "SELECT event_id FROM " + verdictsFrom + " AND is_disclosure AND ({PRED})",
		from: verdictsFrom + " AND is_disclosure AND ({PRED})",
		totals: map[string]string{"Disclosures": "count()", "Records disclosed": "sum(record_count)",
			"Not covered (violations)": "countIf(is_violation)", "Customers whose data was disclosed": "uniqExact(subject_id)"}},
	{report: "violations", key: []string{"event_id"},
		rows: "SELECT event_id FROM " + verdictsFrom + " AND is_violation AND ({PRED})",
		from: verdictsFrom + " AND ({PRED})",
		totals: map[string]string{"Events evaluated": "count()", "Violations": "countIf(is_violation)",
			"Customers affected": "uniqExactIf(subject_id, is_violation)"}},
	{report: "recipients", key: []string{"recipient_id", "recipient_type", "events"},
		rows: "SELECT concat(recipient_id, '|', recipient_type, '|', toString(count())) FROM " + verdictsFrom +
			" AND is_disclosure AND ({PRED}) GROUP BY recipient_id, recipient_type",
		from:   verdictsFrom + " AND is_disclosure AND ({PRED})",
		totals: map[string]string{"Recipients": "uniqExact(recipient_id)", "Disclosures": "count()"}},
	{report: "processing-inventory", key: []string{"purpose", "data_category", "recipient_id", "legal_basis", "events"},
		rows: "SELECT concat(purpose, '|', dc, '|', recipient_id, '|', legal_basis, '|', toString(count())) FROM (SELECT * FROM " + verdictsFrom +
			" AND ({PRED})) ARRAY JOIN arrayDistinct(data_categories) AS dc WHERE {CAT} GROUP BY purpose, dc, recipient_id, recipient_type, legal_basis",
		from:   verdictsFrom + " AND ({PRED})",
		totals: map[string]string{"Accesses": "count()", "Purposes": "uniqExact(purpose)", "Customers": "uniqExact(subject_id)"}},
	{report: "access-review", key: []string{"actor_id", "actor_type", "events"},
		rows: "SELECT concat(actor_id, '|', actor_type, '|', toString(count())) FROM " + verdictsFrom +
			" AND actor_type IN ('employee', 'service', 'system') AND ({PRED}) GROUP BY actor_id, actor_type",
		from:   verdictsFrom + " AND actor_type IN ('employee', 'service', 'system') AND ({PRED})",
		totals: map[string]string{"Accesses": "count()", "Internal actors": "uniqExact(actor_id)", "Customers": "uniqExact(subject_id)"}},
	{report: "subject-access", params: map[string]string{"subject_id": "cust-01"}, key: []string{"record_type", "event_id"},
		rows: "SELECT concat('access|', event_id) FROM " + verdictsFrom + " AND subject_id = 'cust-01' AND ({PRED})" +
			" UNION ALL SELECT concat('consent|', consent_event_id) FROM {DB}.consent_events FINAL" +
			" WHERE subject_id = 'cust-01' AND effective_ns < {TO} AND ({CPRED})",
		from:   verdictsFrom + " AND subject_id = 'cust-01' AND ({PRED})",
		totals: map[string]string{"Accesses": "count()", "Disclosures": "countIf(is_disclosure)", "Actors": "uniqExact(actor_id)"}},
	{report: "consents", key: []string{"consent_event_id"},
		rows: "SELECT consent_event_id FROM {DB}.consent_events FINAL WHERE effective_ns >= {FROM} AND effective_ns < {TO} AND ({CPRED})",
		from: "{DB}.consent_events FINAL WHERE effective_ns >= {FROM} AND effective_ns < {TO} AND ({CPRED})",
		totals: map[string]string{"Grants": "countIf(status = 'granted')", "Withdrawals": "countIf(status = 'withdrawn')",
			"Customers": "uniqExact(subject_id)"},
		figures: map[string]string{"Active consents at the end of the period": `SELECT toFloat64(count()) FROM (
			SELECT consent_id, argMax(status, (effective_ns, ingest_seq)) AS s_status,
				argMax(recipient_id, (effective_ns, ingest_seq)) AS s_recipient, argMax(purposes, (effective_ns, ingest_seq)) AS s_purposes,
				argMax(data_categories, (effective_ns, ingest_seq)) AS s_categories, argMax(jurisdiction, (effective_ns, ingest_seq)) AS s_jurisdiction,
				argMax(has_expiry, (effective_ns, ingest_seq)) AS s_has_expiry, argMax(expires_ns, (effective_ns, ingest_seq)) AS s_expires
			FROM {DB}.consent_events FINAL WHERE effective_ns < {TO} GROUP BY consent_id)
			WHERE s_status = 'granted' AND (s_has_expiry = 0 OR s_expires >= {TO}) AND ({SPRED})`}},
}

// TestFiltersNarrowDetailAndSummary runs every report with each filter it
// takes and checks that the detail rows and the Summary totals are those
// of the equivalent hand-written SQL over the stored verdicts (or the
// consent events), and that the filter narrows: fewer rows than without
// it, but some.
func TestFiltersNarrowDetailAndSummary(t *testing.T) {
	env := filterEnv(t)
	r := newTestRunner(t, env, nil)
	for _, fc := range filterChecks {
		d, _ := r.Catalog().Lookup(fc.report)
		all, _ := runFiltered(t, r, fc, nil)
		for _, c := range filterCases {
			if !slices.Contains(d.Filters, c.name) {
				continue
			}
			t.Run(fc.report+"/"+c.name, func(t *testing.T) {
				filters := map[string]string{c.name: c.value}
				got, sum := runFiltered(t, r, fc, filters)
				want := handRows(t, env, fc.rows, c)
				if !slices.Equal(got, want) {
					t.Errorf("detail rows\n got %v\nwant %v", got, want)
				}
				if len(got) == 0 || len(got) >= len(all) {
					t.Errorf("%d rows with the filter, %d without: the data must make it narrow", len(got), len(all))
				}
				for label, sql := range fc.figures {
					wantTotal := handTotal(t, env, sql, c)
					if gotTotal, ok := sum[label]; !ok || gotTotal != wantTotal {
						t.Errorf("total %q = %v (present %v), hand-written SQL gives %v", label, gotTotal, ok, wantTotal)
					}
				}
				for label, expr := range fc.totals {
					wantTotal := handTotal(t, env, "SELECT toFloat64("+expr+") FROM "+fc.from, c)
					if gotTotal, ok := sum[label]; !ok || gotTotal != wantTotal {
						t.Errorf("total %q = %v (present %v), hand-written SQL gives %v", label, gotTotal, ok, wantTotal)
					}
				}
			})
		}
	}
}

// runFiltered runs fc's report with filters as csv (the detail keys,
// sorted) and through a capturing renderer (the Summary totals by label).
func runFiltered(t *testing.T, r *Runner, fc filterCheck, filters map[string]string) ([]string, map[string]float64) {
	t.Helper()
	var buf bytes.Buffer
	if _, err := r.Run(context.Background(), RunRequest{Report: fc.report, From: octFrom, To: octTo, Params: fc.params,
		Filters: filters, Format: "csv", Actor: "t", Out: &buf}); err != nil {
		t.Fatalf("%s %v: %v", fc.report, filters, err)
	}
	recs, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	idx := make([]int, len(fc.key))
	for i, k := range fc.key {
		idx[i] = slices.Index(recs[0], k)
	}
	var keys []string
	for _, rec := range recs[1:] {
		parts := make([]string, len(idx))
		for i, j := range idx {
			parts[i] = rec[j]
		}
		keys = append(keys, strings.Join(parts, "|"))
	}
	slices.Sort(keys)
	cap := &captureRenderer{}
	r.o.Formats["capture"] = cap
	if _, err := r.Run(context.Background(), RunRequest{Report: fc.report, From: octFrom, To: octTo, Params: fc.params,
		Filters: filters, Format: "capture", Actor: "t", Out: io.Discard}); err != nil {
		t.Fatalf("%s %v summary: %v", fc.report, filters, err)
	}
	totals := map[string]float64{}
	for _, tot := range cap.sum.Totals {
		totals[tot.Label] = tot.Value
	}
	if len(filters) > 0 && len(cap.in.Meta.Filters) != len(filters) {
		t.Errorf("meta filters %v, want %v", cap.in.Meta.Filters, filters)
	}
	return keys, totals
}

// handSQL fills the placeholders of a hand-written statement.
func handSQL(env *ingesttest.Env, sql string, c filterCase) string {
	cpred, cat := c.consent, "1"
	if cpred == "" {
		cpred = "1" // a filter consents lack leaves the consent history whole
	}
	if c.inventoryCategory != "" {
		cat = "dc = '" + c.inventoryCategory + "'"
	}
	spred := c.state
	if spred == "" {
		spred = "1"
	}
	sql = strings.NewReplacer("{PRED}", c.access, "{CPRED}", cpred, "{SPRED}", spred, "{CAT}", cat).Replace(sql)
	return strings.NewReplacer("{DB}", env.Schema.DB, "{FROM}", fmt.Sprint(octFrom.UnixNano()),
		"{TO}", fmt.Sprint(octTo.UnixNano())).Replace(sql)
}

// handRows runs a hand-written rows statement and returns its keys, sorted.
func handRows(t *testing.T, env *ingesttest.Env, sql string, c filterCase) []string {
	t.Helper()
	rows, err := env.Conn.Query(context.Background(), handSQL(env, sql, c))
	if err != nil {
		t.Fatalf("hand-written SQL: %v", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			t.Fatal(err)
		}
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// handTotal runs a hand-written statement returning one Float64.
func handTotal(t *testing.T, env *ingesttest.Env, sql string, c filterCase) float64 {
	t.Helper()
	var v float64
	if err := env.Conn.QueryRow(context.Background(), handSQL(env, sql, c)).Scan(&v); err != nil {
		t.Fatalf("hand-written total %s: %v", sql, err)
	}
	return v
}
