package queries

import "embed"

//go:embed retention/*.sql
var retentionFiles embed.FS

// Retention returns the rendered SQL of queries/retention/NAME.sql, the
// statements of the retention job and the legal holds (MetaDB
// retention_drops and legal_holds, migration 0090).
func Retention(name string, s Schema) (string, error) {
	return Render(retentionFiles, "retention/"+name+".sql", s)
}
