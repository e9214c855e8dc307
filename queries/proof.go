package queries

import "embed"

//go:embed proof/*.sql
var proofFiles embed.FS

// Proof returns the rendered SQL of queries/proof/NAME.sql, the statements
// that verify the proof log and prove one record's inclusion (MetaDB
// log_leaves, log_nodes and log_checkpoints, migration 0080).
func Proof(name string, s Schema) (string, error) {
	return Render(proofFiles, "proof/"+name+".sql", s)
}
