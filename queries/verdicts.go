package queries

import (
	"embed"
	"fmt"
	"sync"
)

//go:embed verdicts/*.sql
var verdictFiles embed.FS

var verdictCache sync.Map // name|schema -> string

// Verdicts returns the rendered SQL of queries/verdicts/NAME.sql for schema
// s: the statements that fill and check the verdict store (the backfill and
// `privaudit verify verdicts`). The shared templates of reports/verdicts.sql
// are parsed first, so a file recomputes verdicts with
// {{template "evaluated_verdicts" .}} (never the stored verdicts: they check
// the store independently) and narrows the events by redefining
// "event_filter". User values are bound as @name parameters.
func Verdicts(name string, s Schema) (string, error) {
	key := name + "|" + fmt.Sprint(s)
	if v, ok := verdictCache.Load(key); ok {
		return v.(string), nil
	}
	if err := s.Validate(); err != nil {
		return "", err
	}
	out, err := renderWithEngine(verdictFiles, "verdicts/"+name+".sql", "", s, nil)
	if err != nil {
		return "", err
	}
	verdictCache.Store(key, out)
	return out, nil
}
