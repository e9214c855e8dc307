package reports

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/privaudit/privaudit/audit"
	"github.com/privaudit/privaudit/audit/ingest/ingesttest"
)

// The planted customer: consents and events of reports/testdata/customer_*.ndjson.
const planted = "cust-planted"

// plantedEnv ingests the planted customer (and one event and consent of
// another customer).
func plantedEnv(t *testing.T) *ingesttest.Env {
	t.Helper()
	env := ingesttest.Start(t, ingesttest.Options{})
	env.Ingest(t, audit.KindConsents, readTestdata(t, "customer_consents.ndjson"))
	env.Ingest(t, audit.KindEvents, readTestdata(t, "customer_events.ndjson"))
	return env
}

// Internal names and ids the customer's copy must not show: the actor ids
// of the employees, services and systems, the officer who runs the report
// and the other customer.
var (
	internalNames = []string{"jane.doe", "bob.smith", "svc-fraud-engine", "batch-exporter", "svc-ads", "test-officer", "cust-other"}
	uuidRE        = regexp.MustCompile(`(?i)[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)
	hostile       = `<script>alert("x")</script>`
)

// runFormat runs report for the planted customer in format and returns the file.
func runFormat(t *testing.T, r *Runner, report, format string, params map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	if _, err := r.Run(context.Background(), RunRequest{Report: report, From: octFrom, To: octTo, Params: params,
		Format: format, Actor: "test-officer", Out: &buf}); err != nil {
		t.Fatalf("run %s %s: %v", report, format, err)
	}
	return buf.Bytes()
}

// TestCustomerSubjectAccess checks the customer-ready subject-access export
// in every format: no internal actor id, UUID or verdict code; every
// recipient and purpose named; and row for row the officer's
// subject-access of the same period.
func TestCustomerSubjectAccess(t *testing.T) {
	env := plantedEnv(t)
	rec := &recorder{}
	r := newTestRunner(t, env, rec.record)
	params := map[string]string{"subject_id": planted}
	officer, _ := runCSV(t, r, "subject-access", params)
	rec.evs = nil
	if len(officer) != 1+15 {
		t.Fatalf("officer's subject-access has %d rows, want 11 accesses and 4 consent events", len(officer)-1)
	}
	files := map[string][]byte{}
	for _, f := range []string{"csv", "json", "xlsx", "html"} {
		files[f] = runFormat(t, r, CustomerSubjectAccess, f, params)
	}
	tables := map[string][][]string{
		"csv": readCSV(t, files["csv"]), "json": readJSONRows(t, files["json"]),
		"xlsx": readXLSX(t, files["xlsx"]), "html": readHTML(t, files["html"]),
	}
	tables["xlsx"][0] = headerNames(t, tables["xlsx"][0])
	for format, tab := range tables {
		checkCustomerText(t, format, tab)
		checkRowForRow(t, format, officer, tab)
	}
	if !bytes.Contains(files["html"], []byte("&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;")) || bytes.Contains(files["html"], []byte("<script")) {
		t.Error("html: the hostile recipient id is not escaped")
	}
	checkCustomerWords(t, tables["csv"])
	if len(rec.evs) != 4 || slices.ContainsFunc(rec.evs, func(e audit.Event) bool { return e.SubjectID != planted }) {
		t.Errorf("the customer-ready runs are recorded as %+v, want 4 runs about %s", rec.evs, planted)
	}

	named := readCSV(t, runFormat(t, r, CustomerSubjectAccess, "csv", map[string]string{"subject_id": planted, "staff_names": "yes"}))
	by := column(t, named, "by")
	if !slices.Contains(by, "Bank employee (jane.doe)") || !slices.Contains(by, "Bank employee (bob.smith)") ||
		slices.ContainsFunc(by, func(s string) bool { return strings.Contains(s, "svc-") }) {
		t.Errorf("staff_names=yes: by %q, want the employees named and services by role", by)
	}
	if _, err := r.Run(context.Background(), RunRequest{Report: CustomerSubjectAccess, From: octFrom, To: octTo, Format: "csv",
		Params: map[string]string{"subject_id": planted, "staff_names": "maybe"}, Actor: "t", Out: io.Discard}); err == nil ||
		!strings.Contains(err.Error(), "give yes") {
		t.Errorf("staff_names=maybe: %v", err)
	}
}

// checkCustomerText holds every cell of a customer's copy to what it may
// show and checks it names every recipient and purpose.
func checkCustomerText(t *testing.T, format string, tab [][]string) {
	t.Helper()
	text := checkNothingInternal(t, format, tab)
	for _, want := range []string{"acme-insurance", "msg-platform", "tax-office", "cloud-processor", "adnet", hostile,
		"Fraud alerts", "Advertising", "Balance inquiries", "Tax reporting", "Address change", "Third party",
		"Processor acting for the bank", "Public authority"} {
		if !strings.Contains(text, want) {
			t.Errorf("%s: %q is not named", format, want)
		}
	}
}

// checkNothingInternal checks that no cell shows a verdict code, an
// internal name or a UUID, and returns the cells' text.
func checkNothingInternal(t *testing.T, format string, tab [][]string) string {
	t.Helper()
	var all strings.Builder
	for _, row := range tab {
		for _, cell := range row {
			all.WriteString(cell + "\n")
			if slices.Contains(audit.VerdictNames(), cell) {
				t.Errorf("%s: a cell holds the verdict code %q", format, cell)
			}
		}
	}
	text := all.String()
	for _, v := range audit.VerdictNames() {
		if strings.Contains(v, "_") && strings.Contains(text, v) {
			t.Errorf("%s: the verdict code %s shows", format, v)
		}
	}
	for _, id := range internalNames {
		if strings.Contains(text, id) {
			t.Errorf("%s: the internal name %q shows", format, id)
		}
	}
	if m := uuidRE.FindString(text); m != "" {
		t.Errorf("%s: a UUID shows: %s", format, m)
	}
	return text
}

// checkRowForRow checks that the customer's table (header first) has the
// officer's rows: as many, row i at the same time with the same recipient.
func checkRowForRow(t *testing.T, format string, officer, tab [][]string) {
	t.Helper()
	if len(tab) != len(officer) {
		t.Errorf("%s: %d rows, the officer's subject-access has %d", format, len(tab)-1, len(officer)-1)
		return
	}
	at, rcpt := column(t, officer, "occurred_at"), column(t, officer, "recipient_id")
	date, recipient := column(t, tab, "date"), column(t, tab, "recipient")
	for i := range at {
		want := rcpt[i]
		if want == RunRecipient {
			want = theBank
		}
		if !sameInstant(at[i], date[i]) || recipient[i] != want {
			t.Errorf("%s row %d: %s %s, the officer's row is %s %s", format, i+1, date[i], recipient[i], at[i], rcpt[i])
		}
	}
}

// sameInstant compares the officer's RFC 3339 time with a customer cell
// (RFC 3339 in csv, json and xlsx; "2006-01-02 15:04:05 UTC" in html).
func sameInstant(rfc, cell string) bool {
	return rfc == cell || strings.Replace(strings.TrimSuffix(rfc, "Z"), "T", " ", 1)+" UTC" == cell
}

// checkCustomerWords checks the plain words of the planted rows: each
// consent named by its date, the consent history, staff by role.
func checkCustomerWords(t *testing.T, tab [][]string) {
	t.Helper()
	what, consent, check, by := column(t, tab, "what_happened"), column(t, tab, "your_consent"),
		column(t, tab, "consent_check"), column(t, tab, "by")
	want := []struct{ what, consent, check, by string }{
		{"You gave your consent", "Your consent of 1 October 2026", "", "You"},
		{"You gave your consent (it expired on 15 October 2026)", "Your consent of 2 October 2026", "", "You"},
		{"Your data was looked at", "", "Did not need your consent (see legal basis)", "Bank employee"},
		{"Your data was shared", "Your consent of 1 October 2026", "Covered by your consent", "Automated service"},
		{"Your data was exported", "Your consent of 1 October 2026", "Covered by your consent", "Automated system"},
		{"Your data was transferred", "", "Not covered by any consent you gave", "Automated service"},
		{"Your data was shared", "", "Did not need your consent (see legal basis)", "Bank employee"},
		{"Your data was shared", "", "Did not need your consent (see legal basis)", "Automated service"},
		{"A request for your data was refused", "", "Refused: nothing was released", "Automated service"},
		{"You narrowed your consent", "Your consent of 1 October 2026", "", "You"},
		{"Your data was shared", "Your consent of 1 October 2026", "Your consent does not cover this purpose", "Automated service"},
		{"Your data was shared", "Your consent of 2 October 2026", "After your consent had expired", "Automated service"},
		{"You withdrew your consent", "Your consent of 1 October 2026", "", "You"},
		{"Your data was shared", "Your consent of 1 October 2026", "After you withdrew your consent", "Automated service"},
		{"Your data was updated", "", "Did not need your consent (see legal basis)", "Bank employee"},
	}
	if len(what) != len(want) {
		t.Fatalf("%d rows, want %d", len(what), len(want))
	}
	for i, w := range want {
		if got := (struct{ what, consent, check, by string }{what[i], consent[i], check[i], by[i]}); got != w {
			t.Errorf("row %d: %+v, want %+v", i+1, got, w)
		}
	}
}

// headerNames maps the plain-word headers of the customer report's xlsx
// or html detail (a time column's header names its zone) back to the
// column identifiers csv and json use.
func headerNames(t *testing.T, header []string) []string {
	t.Helper()
	d, _ := Default().Lookup(CustomerSubjectAccess)
	out := make([]string, len(header))
	for i, h := range header {
		for _, c := range d.Columns {
			if c.Label == "" {
				t.Fatalf("customer column %s has no plain-word label", c.Name)
			}
			if h == c.Label || h == c.Label+" (UTC)" {
				out[i] = c.Name
			}
		}
		if out[i] == "" {
			t.Fatalf("header %q is none of the customer report's columns", h)
		}
	}
	return out
}

// column returns the cells of column name, header excluded.
func column(t *testing.T, tab [][]string, name string) []string {
	t.Helper()
	i := slices.Index(tab[0], name)
	if i < 0 {
		t.Fatalf("no column %s in %v", name, tab[0])
	}
	out := make([]string, 0, len(tab)-1)
	for _, row := range tab[1:] {
		if i < len(row) {
			out = append(out, row[i])
		} else {
			out = append(out, "")
		}
	}
	return out
}

func readCSV(t *testing.T, b []byte) [][]string {
	t.Helper()
	recs, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
	if err != nil {
		t.Fatalf("csv: %v", err)
	}
	return recs
}

// readJSONRows reads the json rows as a table in the definition's column
// order, lists joined with ";".
func readJSONRows(t *testing.T, b []byte) [][]string {
	t.Helper()
	var rows []map[string]any
	if err := json.Unmarshal(b, &rows); err != nil {
		t.Fatalf("json: %v", err)
	}
	d, _ := Default().Lookup(CustomerSubjectAccess)
	tab := [][]string{columnNames(d)}
	for _, row := range rows {
		var out []string
		for _, c := range tab[0] {
			out = append(out, jsonCell(row[c]))
		}
		tab = append(tab, out)
	}
	return tab
}

func jsonCell(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case []any:
		var parts []string
		for _, p := range x {
			parts = append(parts, jsonCell(p))
		}
		return strings.Join(parts, ";")
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// readXLSX returns the Detail sheet as a table, after checking the other
// sheets (Summary, About) for what the customer must not see.
func readXLSX(t *testing.T, b []byte) [][]string {
	t.Helper()
	f, err := excelize.OpenReader(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("xlsx: %v", err)
	}
	defer f.Close()
	detail, err := f.GetRows("Detail")
	if err != nil {
		t.Fatal(err)
	}
	var others [][]string
	for _, sheet := range f.GetSheetList() {
		if sheet == "Detail" {
			continue
		}
		rows, err := f.GetRows(sheet)
		if err != nil {
			t.Fatal(err)
		}
		others = append(others, rows...)
	}
	checkNothingInternal(t, "xlsx Summary and About", others)
	return detail
}

// readHTML parses the page as XML (it must be well-formed) and returns the
// detail table's header and data cells, after checking the whole page's
// text for what the customer must not see.
func readHTML(t *testing.T, b []byte) [][]string {
	t.Helper()
	dec := xml.NewDecoder(bytes.NewReader(b))
	dec.Strict = true
	var tab [][]string
	var all []string
	var inDetail, inCell bool
	var cell strings.Builder
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("html is not well-formed: %v", err)
		}
		switch x := tok.(type) {
		case xml.StartElement:
			switch {
			case x.Name.Local == "table":
				inDetail = slices.Contains(x.Attr, xml.Attr{Name: xml.Name{Local: "class"}, Value: "detail"})
			case x.Name.Local == "tr" && inDetail:
				tab = append(tab, nil)
			case (x.Name.Local == "td" || x.Name.Local == "th") && inDetail:
				inCell = true
				cell.Reset()
			}
		case xml.EndElement:
			switch {
			case x.Name.Local == "table":
				inDetail = false
			case (x.Name.Local == "td" || x.Name.Local == "th") && inCell:
				inCell = false
				tab[len(tab)-1] = append(tab[len(tab)-1], cell.String())
			}
		case xml.CharData:
			all = append(all, string(x))
			if inCell {
				cell.Write(x)
			}
		}
	}
	if len(tab) == 0 {
		t.Fatal("html: no detail table")
	}
	// The header shows headings ("What happened"); name the columns as the other formats do.
	tab[0] = headerNames(t, tab[0])
	checkNothingInternal(t, "html page", [][]string{{strings.Join(all, "\n")}})
	return tab
}

// TestCustomerExportRecorded checks that a run of the customer-ready
// report is recorded as an access event about the customer, and that the
// customer's next export shows it in plain words, without the officer's
// name.
func TestCustomerExportRecorded(t *testing.T) {
	env := plantedEnv(t)
	r := newTestRunner(t, env, env.Ingestor.Record)
	var first bytes.Buffer
	res, err := r.Run(context.Background(), RunRequest{Report: CustomerSubjectAccess, From: octFrom, To: octTo, Format: "csv",
		Params: map[string]string{"subject_id": planted}, Actor: "test-officer", Out: &first})
	if err != nil {
		t.Fatal(err)
	}
	env.WaitStored(t)
	var subject, actor, report string
	err = env.Conn.QueryRow(context.Background(), `SELECT subject_id, actor_id, attr_values[indexOf(attr_keys, 'report')]
		FROM `+env.Schema.DB+`.access_events FINAL WHERE event_id = ?`, res.EventID).Scan(&subject, &actor, &report)
	if err != nil || subject != planted || actor != "test-officer" || report != CustomerSubjectAccess {
		t.Fatalf("recorded run: %v subject %q actor %q report %q", err, subject, actor, report)
	}
	// The run happened now: a period up to the next day holds it.
	to := time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, 1)
	var next bytes.Buffer
	if _, err := r.Run(context.Background(), RunRequest{Report: CustomerSubjectAccess, From: octFrom, To: to, Format: "csv",
		Params: map[string]string{"subject_id": planted}, Actor: "test-officer", Out: &next}); err != nil {
		t.Fatal(err)
	}
	tab := readCSV(t, next.Bytes())
	checkNothingInternal(t, "csv with the recorded run", tab)
	last := tab[len(tab)-1]
	if len(tab) != len(readCSV(t, first.Bytes()))+1 || !slices.Equal(last[1:6], []string{"Your data was exported", "Bank employee",
		theBank, "The bank itself", "Compliance audit report"}) {
		t.Errorf("the recorded run shows as %q (%d rows)", last, len(tab)-1)
	}
}

// TestCustomerSubjectAccessFiltered: a filtered customer-ready export has
// the rows of the officer's subject-access under the same filter, row for
// row, and fewer than unfiltered.
func TestCustomerSubjectAccessFiltered(t *testing.T) {
	env := plantedEnv(t)
	r := newTestRunner(t, env, nil)
	params := map[string]string{"subject_id": planted}
	all, _ := runCSV(t, r, "subject-access", params)
	filters := map[string]string{"recipient": column(t, all, "recipient_id")[0]}
	run := func(report string) [][]string {
		var buf bytes.Buffer
		if _, err := r.Run(context.Background(), RunRequest{Report: report, From: octFrom, To: octTo, Params: params,
			Filters: filters, Format: "csv", Actor: "t", Out: &buf}); err != nil {
			t.Fatalf("run %s %v: %v", report, filters, err)
		}
		return readCSV(t, buf.Bytes())
	}
	officer, customer := run("subject-access"), run(CustomerSubjectAccess)
	if len(officer) < 2 || len(officer) >= len(all) {
		t.Fatalf("the filter %v keeps %d of %d rows: the planted data must make it narrow", filters, len(officer)-1, len(all)-1)
	}
	checkRowForRow(t, "filtered csv", officer, customer)
}
