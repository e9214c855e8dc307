package reports

import (
	"github.com/privaudit/privaudit/audit"
	"github.com/privaudit/privaudit/reports/render"
)

// The activities of the officer-activity report, in the order its pivot
// shows them.
const (
	ActivityReportRun   = "report run"
	ActivityScheduleRun = "schedule run by hand"
	ActivityRunFile     = "run-file download"
	ActivityQuery       = "ad-hoc query"
	ActivitySavedQuery  = "saved query"
)

// Activities lists the officer-activity report's activities in order.
var Activities = []string{ActivityReportRun, ActivityScheduleRun, ActivityRunFile, ActivityQuery, ActivitySavedQuery}

func init() {
	register(Definition{
		Name:  "officer-activity",
		Title: "Officer activity: what privaudit's own users did",
		Description: "One row per action of an officer in the period, under the token's name: report runs (CLI, HTTP or the web console), " +
			"schedule runs started by hand, downloads of scheduled runs' files, ad-hoc and saved queries — " +
			"what (report, file or saved query), the schedule and run, the period, the parameters' names " +
			"(never their values), the format, the rows revealed and the result.",
		SQL: "officer_activity",
		Columns: []render.Column{
			{Name: "occurred_at", Kind: render.Time, Width: 24},
			{Name: "actor_id", Label: "Officer", Description: "The token name the action was done under.", Kind: render.String, Width: 20},
			{Name: "activity", Kind: render.String, Width: 22},
			{Name: "what", Kind: render.String, Width: 36},
			{Name: "schedule", Kind: render.String, Width: 16},
			{Name: "run_id", Kind: render.String, Width: 36},
			{Name: "period_from", Kind: render.String, Width: 20},
			{Name: "period_to", Kind: render.String, Width: 20},
			{Name: "parameters", Kind: render.List, Width: 24},
			{Name: "output_format", Kind: render.String, Width: 8},
			{Name: "row_count", Kind: render.Int},
			{Name: "result", Kind: render.String, Width: 16},
			{Name: "event_id", Kind: render.String, Width: 36},
		},
		Summary: []SummarySpec{
			{Section: "totals"},
			{Section: "by_officer", Pivot: &PivotSpec{Title: "Actions per officer and activity", RowHeader: "officer",
				Chart: true, ColumnOrder: Activities}},
		},
		// The trail is of privaudit's own users: the officer (actor) is the
		// one filter that applies.
		Filters:    []string{"actor"},
		Categories: []string{audit.TrailDataCategory},
		Bind: map[string]string{
			"purpose_report": audit.TrailPurposeReport, "purpose_query": audit.TrailPurposeQuery,
			"recipient": audit.TrailRecipient, "actor_type": audit.TrailActorType,
			"channel_api": audit.TrailChannelAPI, "channel_manual": audit.TrailChannelManual,
			"channel_run_file": audit.TrailChannelRunFile, "channel_console": audit.TrailChannelConsole,
			"kind_report_run": ActivityReportRun, "kind_schedule_run": ActivityScheduleRun,
			"kind_run_file": ActivityRunFile, "kind_query": ActivityQuery, "kind_saved_query": ActivitySavedQuery,
		},
	})
}
