package reports

import (
	"fmt"
	"slices"
	"time"

	"github.com/privaudit/privaudit/reports/render"
)

// CustomerSubjectAccess is the customer-ready form of subject-access.
const CustomerSubjectAccess = "subject-access-customer"

func init() {
	register(Definition{
		Name:  CustomerSubjectAccess,
		Title: "Your personal data: how the bank used it and with whom it was shared",
		Description: "The subject-access report written for the customer (subject_id) to receive (GDPR Art. 15): " +
			"row for row the officer's subject-access report, in plain words — what was done with the data, when, " +
			"by whom (bank staff by their role; names only with staff_names=yes), with which recipient, for what " +
			"purpose, under which consent (by the date it was given) and whether that consent covered it; and the " +
			"customer's consent history. No internal ids.",
		SQL:    "subject_access",
		Detail: "customer",
		Params: []ParamSpec{
			{Name: "subject_id", Kind: ParamString, Required: true, Description: "the customer's subject_id"},
			{Name: "staff_names", Kind: ParamString, Default: "no",
				Description: "yes names the bank employees who accessed the data, where the officer finds it essential (CJEU C-579/21); no gives their role only"},
		},
		Check:        checkStaffNames,
		SubjectParam: "subject_id",
		Audience:     AudienceCustomer,
		Transform:    &Transform{From: customerSource, Rows: newCustomerRows},
		Columns: []render.Column{
			{Name: "date", Label: "Date", Description: "When it happened.", Kind: render.Time, Width: 24},
			{Name: "what_happened", Label: "What happened", Description: "What was done with your data, or how your consent changed.", Kind: render.String, Width: 40},
			{Name: "by", Label: "By", Description: "Who did it: bank staff by their role.", Kind: render.String, Width: 24},
			{Name: "recipient", Label: "Shared with", Description: "The organisation that received your data, as the bank recorded it.", Kind: render.String, Width: 24},
			{Name: "recipient_type", Label: "Type of recipient", Description: "What kind of organisation the recipient is.", Kind: render.String, Width: 26},
			{Name: "purposes", Label: "Purposes", Description: "What your data was used for.", Kind: render.List, Width: 26},
			{Name: "data", Label: "Your data concerned", Description: "Which kinds of your data were involved.", Kind: render.List, Width: 34},
			{Name: "legal_basis", Label: "Legal basis", Description: "The legal ground the bank relied on.", Kind: render.String, Width: 26},
			{Name: "your_consent", Label: "Your consent", Description: "The consent the use relied on, by the date you gave it.", Kind: render.String, Width: 28},
			{Name: "consent_check", Label: "Covered by your consent?", Description: "Whether your consent covered this use.", Kind: render.String, Width: 40},
			{Name: "records", Label: "Records", Description: "How many records were involved.", Kind: render.Int},
			{Name: "times_shared_in_period", Label: "Times shared in the period", Description: "How many times the same data went to the same recipient for the same purpose in the period.", Kind: render.Int},
			{Name: "valid_until", Label: "Consent valid until", Description: "When your consent ends; empty when it has no end date.", Kind: render.Time, Width: 24},
		},
		Summary: []SummarySpec{
			{Section: "customer_totals"},
			{Section: "customer_recipients", Pivot: &PivotSpec{Title: "Organisations your data was shared with",
				RowHeader: "Recipient", Chart: true}},
		},
		// The officer's subject-access rows, so its filters (the same SQL).
		Filters:    AllFilters,
		Categories: []string{"access_records", "consent_records"},
	})
}

// checkStaffNames accepts staff_names yes or no.
func checkStaffNames(values map[string]string) error {
	if v := values["staff_names"]; v != "yes" && v != "no" {
		return fmt.Errorf("staff_names is %q: give yes (name the bank employees) or no (their role only)", v)
	}
	return nil
}

// customerSource are the columns of the "customer" section of
// queries/reports/subject_access.sql, in its order.
var customerSource = []render.Column{
	{Name: "record_type", Kind: render.String},
	{Name: "occurred_at", Kind: render.Time},
	{Name: "action", Kind: render.String},
	{Name: "staff_name", Kind: render.String},
	{Name: "actor_type", Kind: render.String},
	{Name: "recipient_id", Kind: render.String},
	{Name: "recipient_type", Kind: render.String},
	{Name: "purpose", Kind: render.String},
	{Name: "data_categories", Kind: render.List},
	{Name: "legal_basis", Kind: render.String},
	{Name: "consent_id", Kind: render.String},
	{Name: "verdict", Kind: render.String},
	{Name: "disclosure", Kind: render.Bool},
	{Name: "record_count", Kind: render.Int},
	{Name: "times_disclosed", Kind: render.Int},
	{Name: "expires_at", Kind: render.Time},
	{Name: "expired", Kind: render.Bool},
	{Name: "consent_given_at", Kind: render.Time},
}

// customerRecord is one row of customerSource, by name.
type customerRecord struct {
	recordType, action, staffName, actorType, recipientID, recipientType string
	purpose, legalBasis, consentID, verdict                              string
	categories                                                           []string
	at, expiresAt, givenAt                                               time.Time
	records, timesShared                                                 int64
	expired                                                              bool
}

func readCustomerRecord(v []any) customerRecord {
	return customerRecord{
		recordType: v[0].(string), at: v[1].(time.Time), action: v[2].(string), staffName: v[3].(string),
		actorType: v[4].(string), recipientID: v[5].(string), recipientType: v[6].(string), purpose: v[7].(string),
		categories: v[8].([]string), legalBasis: v[9].(string), consentID: v[10].(string), verdict: v[11].(string),
		records: v[13].(int64), timesShared: v[14].(int64), expiresAt: v[15].(time.Time), expired: v[16].(bool),
		givenAt: v[17].(time.Time),
	}
}

// customerRows puts the customer's records in plain words, one row out per
// row in. It remembers the last scope of each of the customer's consents
// (rows come in time order) to say how a consent changed.
type customerRows struct {
	src   render.Rows
	vals  []any
	scope map[string]consentScope
}

// consentScope is a consent's state as its last row left it.
type consentScope struct {
	granted            bool
	purposes, category []string
}

func newCustomerRows(src render.Rows) render.Rows {
	return &customerRows{src: src, vals: make([]any, 13), scope: map[string]consentScope{}}
}

// Next advances to the next row.
func (c *customerRows) Next() bool {
	if !c.src.Next() {
		return false
	}
	r := readCustomerRecord(c.src.Values())
	if r.recordType == "consent" {
		c.consentRow(r)
	} else {
		c.accessRow(r)
	}
	return true
}

// Values returns the current row.
func (c *customerRows) Values() []any { return c.vals }

// Err returns the source's error.
func (c *customerRows) Err() error { return c.src.Err() }

func (c *customerRows) accessRow(r customerRecord) {
	by := word(actorWords, r.actorType)
	if r.staffName != "" {
		by += " (" + r.staffName + ")"
	}
	consent := ""
	if !r.givenAt.IsZero() {
		consent = consentWords(r.givenAt)
	}
	check, ok := verdictWords[r.verdict]
	if !ok {
		check = noVerdictWords
	}
	what := word(actionWords, r.action)
	if r.verdict == "denied" {
		what = refusedRequest
	}
	c.set(r.at, what, by, recipientWords(r.recipientID, r.recipientType),
		word(recipientTypeWords, r.recipientType), words(purposeWords, []string{r.purpose}),
		words(categoryWords, r.categories), word(legalBasisWords, r.legalBasis), consent, check,
		r.records, r.timesShared, time.Time{})
}

func (c *customerRows) consentRow(r customerRecord) {
	purposes := splitList(r.purpose)
	what := c.consentChange(r.consentID, r.action == "consent_granted", purposes, r.categories)
	if r.expired {
		what += " (it expired on " + dateWords(r.expiresAt) + ")"
	}
	c.set(r.at, what, word(actorWords, "subject"), r.recipientID, "", words(purposeWords, purposes),
		words(categoryWords, r.categories), "", consentWords(r.givenAt), "", 0, 0, r.expiresAt)
}

// consentChange says what a consent row did to the consent, given the
// scope its previous row left, and remembers the new scope.
func (c *customerRows) consentChange(id string, granted bool, purposes, cats []string) string {
	prev, seen := c.scope[id]
	next := consentScope{granted: granted, purposes: sortedSet(purposes), category: sortedSet(cats)}
	c.scope[id] = next
	switch {
	case !granted:
		return consentWithdrawn
	case !seen:
		return consentGiven
	case !prev.granted:
		return consentGivenAgain
	}
	wider := containsAll(next.purposes, prev.purposes) && containsAll(next.category, prev.category)
	narrower := containsAll(prev.purposes, next.purposes) && containsAll(prev.category, next.category)
	switch {
	case wider && narrower:
		return consentRenewed
	case narrower:
		return consentNarrowed
	case wider:
		return consentWidened
	}
	return consentChanged
}

func (c *customerRows) set(vals ...any) { copy(c.vals, vals) }

// recipientWords names the recipient of an access: the bank for internal
// use, "You" for the customer, else the recipient as recorded (C-154/21).
func recipientWords(id, typ string) string {
	switch {
	case typ == "internal" || id == RunRecipient:
		return theBank
	case typ == "subject":
		return word(recipientTypeWords, typ)
	}
	return id
}

func sortedSet(vs []string) []string {
	out := slices.Clone(vs)
	slices.Sort(out)
	return slices.Compact(out)
}

// containsAll reports whether set holds every element of sub.
func containsAll(set, sub []string) bool {
	for _, s := range sub {
		if _, ok := slices.BinarySearch(set, s); !ok {
			return false
		}
	}
	return true
}

// customerForms maps a report to its customer-ready form.
var customerForms = map[string]string{"subject-access": CustomerSubjectAccess}

// ForAudience returns the report to run for report written for audience:
// report itself for "officer" (or ""), its customer-ready form for
// "customer".
func ForAudience(report, audience string) (string, error) {
	switch audience {
	case "", "officer":
		return report, nil
	case string(AudienceCustomer):
		if c, ok := customerForms[report]; ok {
			return c, nil
		}
		if report == CustomerSubjectAccess {
			return report, nil
		}
		return "", fmt.Errorf("report %s has no customer-ready form; --audience customer exists for subject-access", report)
	}
	return "", fmt.Errorf("audience %q: give officer or customer", audience)
}
