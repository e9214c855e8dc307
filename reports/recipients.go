package reports

import "github.com/privaudit/privaudit/reports/render"

func init() {
	register(Definition{
		Name:  "recipients",
		Title: "Recipients: the register of third parties",
		Description: "One row per recipient of disclosures: categories received, purposes, legal bases, volumes, " +
			"first and last seen, and consent coverage (covered_pct: share of its disclosures relying on " +
			"consent that a consent covered; violations: those no consent covered).",
		SQL: "recipients",
		Columns: []render.Column{
			{Name: "recipient_id", Kind: render.String, Width: 20},
			{Name: "recipient_type", Kind: render.String, Width: 14},
			{Name: "data_categories", Kind: render.List, Width: 40},
			{Name: "purposes", Kind: render.List, Width: 30},
			{Name: "legal_bases", Kind: render.List, Width: 24},
			{Name: "events", Label: "Disclosures", Description: "How many disclosures to this recipient.", Kind: render.Int},
			{Name: "subjects", Kind: render.Int},
			{Name: "records", Kind: render.Int},
			{Name: "first_seen", Kind: render.Time, Width: 24},
			{Name: "last_seen", Kind: render.Time, Width: 24},
			{Name: "covered_pct", Kind: render.Float},
			{Name: "violations", Kind: render.Int},
		},
		Summary: []SummarySpec{
			{Section: "totals", ZeroNotes: []ZeroNote{{Total: "Disclosures", Text: "No disclosures in this period."},
				{Total: "Not covered (violations)", Text: "No violations among the disclosures of this period."}}},
			{Section: "cells", Rollup: []PivotSpec{
				{Title: "Disclosures per recipient and verdict", RowHeader: "recipient_id", Row: "recipient_id", Col: "verdict",
					Chart: true, ColumnOrder: Verdicts, Fixed: true, Empty: "No disclosures in this period."},
				{Title: "Disclosures per data category and recipient", RowHeader: "data_category", Row: "data_categories",
					Col: "recipient_id", Chart: true, Empty: "No disclosures in this period."},
			}},
		},
		Filters:    AllFilters,
		Categories: []string{"access_records"},
	})
}
