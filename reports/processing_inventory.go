package reports

import "github.com/privaudit/privaudit/reports/render"

func init() {
	register(Definition{
		Name:  "processing-inventory",
		Title: "Processing inventory: observed processing (records of processing)",
		Description: "The processing actually observed: one row per purpose × data category × recipient × " +
			"legal basis, with events, customers, records, actions, first and last seen, and how many no consent covered.",
		SQL: "processing_inventory",
		Columns: []render.Column{
			{Name: "purpose", Kind: render.String, Width: 20},
			{Name: "data_category", Kind: render.String, Width: 20},
			{Name: "recipient_id", Kind: render.String, Width: 18},
			{Name: "recipient_type", Kind: render.String, Width: 14},
			{Name: "legal_basis", Kind: render.String, Width: 18},
			{Name: "events", Kind: render.Int},
			{Name: "subjects", Kind: render.Int},
			{Name: "records", Kind: render.Int},
			{Name: "actions", Kind: render.List, Width: 20},
			{Name: "first_seen", Kind: render.Time, Width: 24},
			{Name: "last_seen", Kind: render.Time, Width: 24},
			{Name: "violations", Kind: render.Int},
		},
		Summary: []SummarySpec{
			{Section: "totals"},
			{Section: "cells", Rollup: []PivotSpec{
				{Title: "Accesses per purpose and legal basis", RowHeader: "purpose", Row: "purpose", Col: "legal_basis", Chart: true,
					Empty: "No accesses in this period."},
				{Title: "Accesses per data category and purpose", RowHeader: "data_category", Row: "categories", Col: "purpose",
					Empty: "No accesses in this period."},
			}},
		},
		Filters:    AllFilters,
		Categories: []string{"access_records"},
	})
}
