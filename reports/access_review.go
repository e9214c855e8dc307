package reports

import (
	"errors"
	"strconv"

	"github.com/privaudit/privaudit/reports/render"
)

func init() {
	register(Definition{
		Name:  "access-review",
		Title: "Access review: internal actors and what they touched",
		Description: "One row per internal actor (employee, service, system): the categories touched, events, " +
			"customers, records, and after_hours_events — accesses before workday_start or from workday_end " +
			"(hours, UTC) or on weekends.",
		SQL: "access_review",
		Params: []ParamSpec{
			{Name: "workday_start", Kind: ParamInt, Default: "8", Min: 0, Max: 23,
				Description: "first working hour (UTC, 0–23)"},
			{Name: "workday_end", Kind: ParamInt, Default: "18", Min: 1, Max: 24,
				Description: "end of the working day (UTC hour, exclusive, 1–24)"},
		},
		Check: func(v map[string]string) error {
			start, _ := strconv.Atoi(v["workday_start"])
			end, _ := strconv.Atoi(v["workday_end"])
			if start >= end {
				return errors.New("workday_start must be before workday_end (hours of the same UTC day)")
			}
			return nil
		},
		Columns: []render.Column{
			{Name: "actor_id", Kind: render.String, Width: 24},
			{Name: "actor_type", Kind: render.String, Width: 12},
			{Name: "data_categories", Kind: render.List, Width: 40},
			{Name: "events", Kind: render.Int},
			{Name: "subjects", Kind: render.Int},
			{Name: "records", Kind: render.Int},
			{Name: "after_hours_events", Kind: render.Int},
			{Name: "actions", Kind: render.List, Width: 20},
			{Name: "purposes", Kind: render.List, Width: 30},
			{Name: "denied_events", Kind: render.Int},
			{Name: "first_seen", Kind: render.Time, Width: 24},
			{Name: "last_seen", Kind: render.Time, Width: 24},
		},
		Summary: []SummarySpec{
			{Section: "totals"},
			{Section: "by_hour", Pivot: &PivotSpec{Title: "Internal accesses per hour of day (UTC) and actor type",
				RowHeader: "hour", Chart: true, ByLabel: true, ColumnOrder: []string{"employee", "service", "system"}, Fixed: true,
				Empty: "No internal accesses in this period."}},
		},
		Filters:    AllFilters,
		Categories: []string{"access_records"},
	})
}
