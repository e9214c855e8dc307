package reports

import "github.com/privaudit/privaudit/reports/render"

func init() {
	register(Definition{
		Name:  "subject-access",
		Title: "Subject access: everything about one customer",
		Description: "For one customer (subject_id): each access and disclosure of the period individually, " +
			"with recipient, date, purpose and verdict; repeated identical disclosures summarised on their rows " +
			"(times_disclosed, first_disclosed, last_disclosed); and the customer's consent history up to the " +
			"end of the period (record_type consent).",
		SQL: "subject_access",
		Params: []ParamSpec{{Name: "subject_id", Kind: ParamString, Required: true,
			Description: "the customer's subject_id"}},
		SubjectParam: "subject_id",
		Columns: []render.Column{
			{Name: "record_type", Kind: render.String, Width: 10},
			{Name: "event_id", Kind: render.String, Width: 38},
			{Name: "occurred_at", Kind: render.Time, Width: 24},
			{Name: "action", Kind: render.String, Width: 18},
			{Name: "actor_id", Kind: render.String, Width: 18},
			{Name: "actor_type", Kind: render.String},
			{Name: "recipient_id", Kind: render.String, Width: 18},
			{Name: "recipient_type", Kind: render.String},
			{Name: "purpose", Kind: render.String, Width: 20},
			{Name: "data_categories", Kind: render.List, Width: 30},
			{Name: "legal_basis", Kind: render.String},
			{Name: "consent_id", Label: "Consent", Description: "For an access, the consent that decided its verdict; for a consent event, its consent.",
				Kind: render.String, Width: 20},
			{Name: "verdict", Kind: render.String, Width: 22},
			{Name: "outcome", Kind: render.String},
			{Name: "disclosure", Kind: render.Bool},
			{Name: "record_count", Kind: render.Int},
			{Name: "channel", Kind: render.String},
			{Name: "times_disclosed", Kind: render.Int},
			{Name: "first_disclosed", Kind: render.Time, Width: 24},
			{Name: "last_disclosed", Kind: render.Time, Width: 24},
			{Name: "expires_at", Kind: render.Time, Width: 24},
		},
		Summary: []SummarySpec{
			{Section: "totals", ZeroNotes: []ZeroNote{{Total: "Accesses not covered (violations)", Text: "No violations in this period."}}},
			{Section: "by_recipient", Pivot: &PivotSpec{Title: "Accesses per recipient and purpose",
				RowHeader: "recipient_id", Chart: true, Empty: "No accesses in this period."}},
			{Section: "consents", Pivot: &PivotSpec{Title: "Consent events per recipient", RowHeader: "recipient_id",
				ColumnOrder: []string{"granted", "withdrawn"}, Fixed: true, Empty: "No consent events up to the end of the period."}},
		},
		Filters:    AllFilters,
		Categories: []string{"access_records", "consent_records"},
	})
}
