package queries

import (
	"bytes"
	"embed"
	"fmt"
	"io/fs"
	"strings"
	"sync"
)

//go:embed verdicts/*.sql
var verdictFiles embed.FS

// engineAlias names the in-query verdict engine of reports/verdicts.sql in
// the statements of verdicts/: they recompute verdicts independently of the
// verdict store, so they must never read access_verdicts.
const engineAlias = "evaluated_verdicts"

var verdictCache sync.Map // name|schema -> string

// Verdicts returns the rendered SQL of queries/verdicts/NAME.sql for schema
// s: the statements that fill and check the verdict store (the backfill and
// `privaudit verify verdicts`). The shared templates of reports/verdicts.sql
// are parsed first, so a file recomputes verdicts with
// {{template "evaluated_verdicts" .}} and narrows the events by redefining
// "event_filter". User values are bound as @name parameters.
func Verdicts(name string, s Schema) (string, error) {
	key := name + "|" + fmt.Sprint(s)
	if v, ok := verdictCache.Load(key); ok {
		return v.(string), nil
	}
	if err := s.Validate(); err != nil {
		return "", err
	}
	path := "verdicts/" + name + ".sql"
	t, err := newTemplate(path)
	if err != nil {
		return "", err
	}
	shared, err := fs.ReadFile(reportFiles, reportShared)
	if err != nil {
		return "", fmt.Errorf("verdict sql %s: %w", name, err)
	}
	if _, err := t.New(reportShared).Parse(string(shared)); err != nil {
		return "", fmt.Errorf("parse %s: %w", reportShared, err)
	}
	if t.Lookup(engineAlias) == nil {
		// The engine is still named "verdicts" here.
		if _, err := t.New(engineAlias).Parse(`{{template "verdicts" .}}`); err != nil {
			return "", fmt.Errorf("alias %s: %w", engineAlias, err)
		}
	}
	src, err := fs.ReadFile(verdictFiles, path)
	if err != nil {
		return "", fmt.Errorf("verdict sql %s: %w", name, err)
	}
	if _, err := t.New(path).Parse(string(src)); err != nil {
		return "", fmt.Errorf("parse %s: %w", path, err)
	}
	data := templateData{DB: s.DB, MetaDB: s.MetaDB, Schema: s}
	if s.Cluster != "" {
		data.OnCluster = "ON CLUSTER " + s.Cluster
	}
	var b bytes.Buffer
	if err := t.ExecuteTemplate(&b, path, data); err != nil {
		return "", fmt.Errorf("render %s: %w", path, err)
	}
	out := strings.TrimSpace(b.String())
	verdictCache.Store(key, out)
	return out, nil
}
