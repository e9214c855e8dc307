package reports

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"github.com/privaudit/privaudit/audit/apierr"
	"github.com/privaudit/privaudit/audit/auth"
	"github.com/privaudit/privaudit/audit/ingest/ingesttest"
	"github.com/privaudit/privaudit/queries"
	"github.com/privaudit/privaudit/reports/render"
	"github.com/privaudit/privaudit/reports/xlsx"
)

// TestFilterRefusals: an unknown filter, a filter the report does not
// take and a bad value are refused before anything runs, naming what is
// allowed.
func TestFilterRefusals(t *testing.T) {
	env := goldenEnv(t, ingesttest.Options{})
	r := newTestRunner(t, env, nil)
	cases := []struct {
		report  string
		filters map[string]string
		msg     string
	}{
		{"disclosures", map[string]string{"recipent": "adnet"}, `unknown filter "recipent" (did you mean recipient?); the filters are recipient, recipient_type, data_category, purpose, verdict, jurisdiction, actor`},
		{"violations", map[string]string{"verdict": "uncovered"}, `filter verdict: "uncovered" is not one of covered, other_basis, denied, `},
		{"recipients", map[string]string{"recipient_type": "bank"}, `"bank" is not one of internal, processor, affiliate, third_party, subject, authority`},
		{"consents", map[string]string{"verdict": "covered"}, "report consents does not take filter verdict; it takes recipient, data_category, purpose, jurisdiction"},
		{"consents", map[string]string{"actor": "emp-bob"}, "does not take filter actor"},
		{"disclosures", map[string]string{"purpose": ""}, "filter purpose: needs a value"},
		{"disclosures", map[string]string{"actor": "emp\x01bob"}, "filter actor:"},
	}
	bad := Definition{Name: "x", SQL: "x", Columns: []render.Column{{Name: "a"}}, Categories: []string{"c"}}
	for _, filters := range [][]string{{"colour"}, {"actor", "actor"}} {
		bad.Filters = filters
		if _, err := NewCatalog(bad); err == nil || !strings.Contains(err.Error(), "unknown or listed twice") {
			t.Errorf("a definition taking filters %v: %v", filters, err)
		}
	}
	bad.Filters, bad.Params = nil, []ParamSpec{{Name: "f_recipient", Kind: ParamString}}
	if _, err := NewCatalog(bad); err == nil {
		t.Error("a parameter named like a filter's SQL argument must be refused")
	}
	for _, c := range cases {
		_, err := r.Plan(RunRequest{Report: c.report, From: octFrom, To: octTo, Filters: c.filters, Format: "csv", Actor: "t"})
		if apierr.Code(err) != apierr.Invalid || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%s %q: %v, want invalid mentioning %q", c.report, c.filters, err, c.msg)
		}
	}
}

// TestFiltersStated: the xlsx states the filters on its Summary and About
// sheets ("none" without), and the run's access event records each one.
func TestFiltersStated(t *testing.T) {
	env := filterEnv(t)
	rec := &recorder{}
	r := newTestRunner(t, env, rec.record)
	filters := map[string]string{"recipient": "adnet", "verdict": "purpose_not_covered"}
	stated := func(filters map[string]string) (summary, about [][]string) {
		t.Helper()
		var buf bytes.Buffer
		if _, err := r.Run(context.Background(), RunRequest{Report: "disclosures", From: octFrom, To: octTo, Filters: filters,
			Format: "xlsx", Actor: "t", Out: &buf}); err != nil {
			t.Fatal(err)
		}
		f, err := excelize.OpenReader(&buf)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		summary, _ = f.GetRows(xlsx.SummarySheet)
		about, _ = f.GetRows(xlsx.AboutSheet)
		return summary, about
	}
	hasRow := func(rows [][]string, want ...string) bool {
		return slices.ContainsFunc(rows, func(r []string) bool { return slices.Equal(r, want) })
	}
	summary, about := stated(filters)
	for name, rows := range map[string][][]string{"Summary": summary, "About": about} {
		if !hasRow(rows, "Filters") || !hasRow(rows, "Recipient", "only adnet") || !hasRow(rows, "Verdict", "only purpose_not_covered") {
			t.Errorf("the %s sheet does not state the filters: %q", name, rows)
		}
	}
	ev := rec.evs[len(rec.evs)-1]
	attrs := map[string]string{}
	for i, k := range ev.AttrKeys {
		attrs[k] = ev.AttrValues[i]
	}
	if attrs["filter.recipient"] != "adnet" || attrs["filter.verdict"] != "purpose_not_covered" {
		t.Errorf("recorded attributes %v lack the filters", attrs)
	}
	summary, about = stated(nil)
	for name, rows := range map[string][][]string{"Summary": summary, "About": about} {
		if !hasRow(rows, "none", "every row of the period") || hasRow(rows, "Recipient", "only adnet") {
			t.Errorf("the %s sheet of an unfiltered run must say there are no filters: %q", name, rows)
		}
	}
}

// TestHTTPFilters: filter.NAME=VALUE narrows a download, the catalog lists
// each report's filters, and a filter given twice is refused.
func TestHTTPFilters(t *testing.T) {
	env := httpEnv(t, false)
	resp, body, err := get(t, env, auth.RoleOfficer, "/v1/reports/disclosures?from=2026-10-01&to=2026-11-01&format=csv&filter.verdict=other_basis")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("download: %d %v %s", resp.StatusCode, err, body)
	}
	recs, err := csv.NewReader(bytes.NewReader(body)).ReadAll()
	if err != nil || len(recs) != 2 || resp.Trailer.Get(TrailerRows) != "1" {
		t.Errorf("filtered on other_basis: %d rows (%v), want the 1 such disclosure", len(recs)-1, err)
	}
	resp, body, _ = get(t, env, auth.RoleOfficer, "/v1/reports/disclosures?from=2026-10-01&to=2026-11-01&filter.actor=a&filter.actor=b")
	if resp.StatusCode != 400 || !strings.Contains(DecodeError(resp.StatusCode, body).Error(), "filter.actor is given 2 times") {
		t.Errorf("a repeated filter: %d %s", resp.StatusCode, body)
	}
	resp, body, _ = get(t, env, auth.RoleOfficer, "/v1/reports")
	var cat CatalogResponse
	if resp.StatusCode != 200 || json.Unmarshal(body, &cat) != nil {
		t.Fatalf("catalog: %d %s", resp.StatusCode, body)
	}
	for _, e := range cat.Reports {
		var names []string
		for _, f := range e.Filters {
			names = append(names, f.Name)
		}
		want := AllFilters
		switch e.Name {
		case "consents":
			want = ConsentFilters
		case "officer-activity":
			want = []string{"actor"}
		}
		if !slices.Equal(names, want) {
			t.Errorf("%s lists filters %v, want %v", e.Name, names, want)
		}
	}
}

// TestSubjectAccessFilteredStaysWithCustomer: with the purpose and data
// category filters, whose consent lookups search the consents that ever
// granted a value, every read of consent_events in the subject-access
// statements is still restricted to the customer (subject_id leads the
// table's primary key), so the report reads that customer's granules, not
// the whole ledger. (ClickHouse reports no read counts for IN subqueries,
// so the statements are checked.)
func TestSubjectAccessFilteredStaysWithCustomer(t *testing.T) {
	d, _ := Default().Lookup("subject-access")
	sqls, err := renderSQL(d, queries.Schema{DB: "privaudit", MetaDB: "privaudit_meta"},
		[]resolvedParam{{Name: "data_category", Value: "x"}, {Name: "purpose", Value: "y"}})
	if err != nil {
		t.Fatal(err)
	}
	lookups := 0
	for _, sql := range append([]string{sqls.detail}, sqls.summary...) {
		reads := strings.Split(sql, "privaudit.consent_events")
		for _, after := range reads[1:] {
			where := after[:min(len(after), 160)] // the read's FROM … WHERE
			if !strings.Contains(where, "subject_id = @subject_id") {
				t.Errorf("a read of consent_events not restricted to the customer: %s", where)
			}
		}
		lookups += strings.Count(sql, "consent_id IN (")
	}
	if lookups != 4 {
		t.Errorf("%d consent lookups by purpose or data category, want 4 (detail and summary, one per filter)", lookups)
	}
}

// TestFilteredPivotsKeepTheValue: pivots whose rows or columns are the
// filtered dimension show only the filtered value — processing-inventory's
// data categories, the consents' active purposes — not the other values
// of the same accesses or consents.
func TestFilteredPivotsKeepTheValue(t *testing.T) {
	env := filterEnv(t)
	r := newTestRunner(t, env, nil)
	cases := []struct {
		report, filter, value, pivot string
		cols                         bool // the value is a column label, not a row label
	}{
		{"processing-inventory", "data_category", "contact_details", "Accesses per data category and purpose", false},
		{"consents", "purpose", "marketing", "Active consents at the end of the period, per recipient and purpose", true},
	}
	for _, c := range cases {
		cap := &captureRenderer{}
		r.o.Formats["capture"] = cap
		if _, err := r.Run(context.Background(), RunRequest{Report: c.report, From: octFrom, To: octTo, Format: "capture",
			Actor: "t", Out: io.Discard, Filters: map[string]string{c.filter: c.value}}); err != nil {
			t.Fatal(err)
		}
		i := slices.IndexFunc(cap.sum.Pivots, func(p render.Pivot) bool { return p.Title == c.pivot })
		if i < 0 {
			t.Fatalf("%s: no pivot %q", c.report, c.pivot)
		}
		labels := cap.sum.Pivots[i].ColHeaders
		if !c.cols {
			labels = nil
			for _, row := range cap.sum.Pivots[i].Rows {
				labels = append(labels, row.Label)
			}
		}
		if !slices.Equal(labels, []string{c.value}) {
			t.Errorf("%s filtered on %s=%s: pivot %q shows %v", c.report, c.filter, c.value, c.pivot, labels)
		}
	}
}
