package reports

import "github.com/privaudit/privaudit/reports/render"

func init() {
	register(Definition{
		Name:  "disclosures",
		Title: "Disclosures: what was shared, with whom, under which consent",
		Description: "Every allowed share, export or transfer to a recipient other than internal or the customer, " +
			"with the consent verdict (SPEC §3) and the consent that decided it.",
		SQL: "disclosures",
		Columns: []render.Column{
			{Name: "event_id", Kind: render.String, Width: 38},
			{Name: "occurred_at", Kind: render.Time, Width: 24},
			{Name: "subject_id", Kind: render.String, Width: 16},
			{Name: "recipient_id", Kind: render.String, Width: 18},
			{Name: "recipient_type", Kind: render.String, Width: 14},
			{Name: "purpose", Kind: render.String, Width: 18},
			{Name: "data_categories", Kind: render.List, Width: 30},
			{Name: "record_count", Kind: render.Int, Width: 12},
			{Name: "legal_basis", Kind: render.String, Width: 16},
			{Name: "consent_id", Kind: render.String, Width: 20},
			{Name: "verdict", Kind: render.String, Width: 22},
			{Name: "detail", Kind: render.String, Width: 50},
			{Name: "action", Kind: render.String},
			{Name: "actor_id", Kind: render.String},
			{Name: "channel", Kind: render.String},
			{Name: "jurisdiction", Kind: render.String},
			{Name: "request_id", Kind: render.String},
		},
		Summary: []SummarySpec{
			{Section: "totals", ZeroNotes: []ZeroNote{{Total: "Disclosures", Text: "No disclosures in this period."},
				{Total: "Not covered (violations)", Text: "No violations among the disclosures of this period."}}},
			{Section: "cells", Rollup: []PivotSpec{
				{Title: "Disclosures per recipient and verdict", RowHeader: "recipient_id", Row: "recipient_id", Col: "verdict",
					Chart: true, ColumnOrder: Verdicts, Fixed: true, Empty: "No disclosures in this period."},
				{Title: "Disclosures per purpose and recipient", RowHeader: "purpose", Row: "purpose", Col: "recipient_id",
					Empty: "No disclosures in this period."},
			}},
		},
		Filters:    AllFilters,
		Categories: []string{"access_records", "consent_records"},
	})
}
