package queries

import "embed"

//go:embed proof/*.sql
var proofFiles embed.FS

// Proof returns the rendered SQL of queries/proof/NAME.sql, the statements
// that verify the proof log and prove records' inclusion (MetaDB
// log_runs (and its view log_leaf_rows, migration 0110), log_nodes
// and log_checkpoints (migration 0080)).
func Proof(name string, s Schema) (string, error) {
	return Render(proofFiles, "proof/"+name+".sql", s)
}

// ProofPeriod is Proof for a statement that may be narrowed to a period:
// with period true, its {{if .Filtered "period"}} conditions are included,
// binding @from and @to.
func ProofPeriod(name string, s Schema, period bool) (string, error) {
	return renderFiltered(proofFiles, "proof/"+name+".sql", s, map[string]bool{"period": period})
}

// ProofFiltered is Proof for a statement with {{if .Filtered "NAME"}}
// conditions: filters names each and whether it applies.
func ProofFiltered(name string, s Schema, filters map[string]bool) (string, error) {
	return renderFiltered(proofFiles, "proof/"+name+".sql", s, filters)
}
