package reports

import "github.com/privaudit/privaudit/reports/render"

// ConsentChangesTitle is the title of the consents report's pivot of
// consent changes over time.
const ConsentChangesTitle = "Consents granted, narrowed and withdrawn per day (per week past 92 days, per month past 731 days)"

// ConsentChanges are the columns of that pivot: what a consent event did
// to its consent.
var ConsentChanges = []string{"granted", "narrowed", "other change", "withdrawn"}

func init() {
	register(Definition{
		Name:  "consents",
		Title: "Consents: the consent ledger",
		Description: "Every grant and withdrawal effective in the period, with scope, expiry and when it was " +
			"recorded; backdated flags consents recorded more than backdated_days after their effective_at. " +
			"The summary counts grants, withdrawals, expiries and the consents active per recipient × purpose " +
			"at the end of the period.",
		SQL: "consents",
		Params: []ParamSpec{{Name: "backdated_days", Kind: ParamInt, Default: "7", Min: 0, Max: 3650,
			Description: "a consent recorded more than this many days after its effective_at is flagged backdated"}},
		Columns: []render.Column{
			{Name: "consent_event_id", Kind: render.String, Width: 38},
			{Name: "consent_id", Label: "Consent id", Description: "The consent the event belongs to.", Kind: render.String, Width: 20},
			{Name: "subject_id", Kind: render.String, Width: 16},
			{Name: "recipient_id", Kind: render.String, Width: 18},
			{Name: "status", Kind: render.String, Width: 10},
			{Name: "purposes", Kind: render.List, Width: 30},
			{Name: "data_categories", Kind: render.List, Width: 30},
			{Name: "effective_at", Kind: render.Time, Width: 24},
			{Name: "expires_at", Kind: render.Time, Width: 24},
			{Name: "ingested_at", Kind: render.Time, Width: 24},
			{Name: "backdated", Kind: render.Bool},
			{Name: "recorded_after_days", Kind: render.Float},
			{Name: "method", Kind: render.String},
			{Name: "notice_version", Kind: render.String},
			{Name: "jurisdiction", Kind: render.String},
			{Name: "proof_sha256", Kind: render.String},
		},
		Summary: []SummarySpec{
			{Section: "totals"},
			{Section: "expiring"},
			{Section: "active", Pivot: &PivotSpec{Title: "Active consents at the end of the period, per recipient and purpose",
				RowHeader: "recipient_id", Chart: true, Empty: "No active consents at the end of the period."}},
			{Section: "by_recipient", Pivot: &PivotSpec{Title: "Consent events in the period per recipient",
				RowHeader: "recipient_id", ColumnOrder: []string{"granted", "withdrawn"}, Fixed: true,
				Empty: "No consent events in this period."}},
			{Section: "changes", Pivot: &PivotSpec{Title: ConsentChangesTitle,
				RowHeader: "day (UTC)", ColumnOrder: ConsentChanges, Fixed: true, ByLabel: true, MaxRows: 120,
				Empty: "No consent events in this period."}},
		},
		Filters:    ConsentFilters,
		Categories: []string{"consent_records"},
	})
}
