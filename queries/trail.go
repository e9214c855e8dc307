package queries

import "embed"

//go:embed trail/*.sql
var trailFiles embed.FS

// Trail returns the rendered SQL of queries/trail/NAME.sql, the statements
// that read the officers' trail back (audit/trail.go).
func Trail(name string, s Schema) (string, error) {
	return Render(trailFiles, "trail/"+name+".sql", s)
}
