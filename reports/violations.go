package reports

import "github.com/privaudit/privaudit/reports/render"

func init() {
	register(Definition{
		Name:  "violations",
		Title: "Violations: accesses no consent covered, and why",
		Description: "Every access event whose verdict is none of covered, other_basis, denied — " +
			"disclosures and other uses — with the reason and the consent that failed.",
		SQL: "violations",
		Columns: []render.Column{
			{Name: "event_id", Kind: render.String, Width: 38},
			{Name: "occurred_at", Kind: render.Time, Width: 24},
			{Name: "subject_id", Kind: render.String, Width: 16},
			{Name: "recipient_id", Kind: render.String, Width: 18},
			{Name: "recipient_type", Kind: render.String, Width: 14},
			{Name: "action", Kind: render.String},
			{Name: "purpose", Kind: render.String, Width: 18},
			{Name: "data_categories", Kind: render.List, Width: 30},
			{Name: "consent_id", Kind: render.String, Width: 20},
			{Name: "verdict", Kind: render.String, Width: 22},
			{Name: "detail", Kind: render.String, Width: 50},
			{Name: "missing_categories", Kind: render.List, Width: 24},
			{Name: "disclosure", Kind: render.Bool},
			{Name: "record_count", Kind: render.Int},
			{Name: "actor_id", Kind: render.String},
			{Name: "channel", Kind: render.String},
			{Name: "request_id", Kind: render.String},
		},
		Summary: []SummarySpec{
			{Section: "totals", ZeroNotes: []ZeroNote{{Total: "Violations", Text: "No violations in this period."}}},
			{Section: "cells", Rollup: []PivotSpec{
				{Title: "Violations per recipient and verdict", RowHeader: "recipient_id", Row: "recipient_id", Col: "verdict",
					Chart: true, ColumnOrder: ViolationVerdicts, Fixed: true, Empty: "No violations in this period."},
				{Title: "Violations per purpose and verdict", RowHeader: "purpose", Row: "purpose", Col: "verdict",
					Chart: true, ColumnOrder: ViolationVerdicts, Fixed: true, Empty: "No violations in this period."},
			}},
		},
		Filters:    AllFilters,
		Categories: []string{"access_records", "consent_records"},
	})
}
