package queries

import "embed"

//go:embed schedule/*.sql
var scheduleFiles embed.FS

// Schedule returns the rendered SQL of queries/schedule/NAME.sql, the
// statements the report scheduler runs against MetaDB.report_runs.
func Schedule(name string, s Schema) (string, error) {
	return Render(scheduleFiles, "schedule/"+name+".sql", s)
}
