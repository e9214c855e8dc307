package queries

import (
	"bytes"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"strings"
	"sync"
	"text/template"
)

//go:embed rules/*.sql
var ruleFiles embed.FS

// ruleFuncs returns the template functions of the shared rule fragments:
// the file rules/NAME.sql becomes {{NAME}} in every SQL file of this
// package, expanded to the file's text (its {{/* */}} comments removed).
// A fragment is static SQL over column names, never a user value, so the
// rule it states has one SQL home that every report and saved query
// includes, e.g. `WHERE {{disclosure}}`.
var ruleFuncs = sync.OnceValues(func() (template.FuncMap, error) {
	ents, err := fs.ReadDir(ruleFiles, "rules")
	if err != nil {
		return nil, fmt.Errorf("list rule fragments: %w", err)
	}
	funcs := template.FuncMap{}
	for _, e := range ents {
		name, ok := cutSQL(e.Name())
		if !ok {
			continue
		}
		text, err := ruleFragment(ruleFiles, name)
		if err != nil {
			return nil, err
		}
		funcs[name] = func() string { return text }
	}
	return funcs, nil
})

// ruleFragment renders rules/NAME.sql of fsys and checks that it is one static
// expression: no statement end, comment or parameter that could change the
// text around the place it is included.
func ruleFragment(fsys fs.FS, name string) (string, error) {
	p := path.Join("rules", name+".sql")
	src, err := fs.ReadFile(fsys, p)
	if err != nil {
		return "", fmt.Errorf("read rule fragment %s: %w", p, err)
	}
	if !identRE.MatchString(name) {
		return "", fmt.Errorf("rule fragment %s: the name must be a plain identifier", p)
	}
	t, err := template.New(p).Option("missingkey=error").Parse(string(src))
	if err != nil {
		return "", fmt.Errorf("parse rule fragment %s: %w", p, err)
	}
	var b bytes.Buffer
	if err := t.Execute(&b, nil); err != nil {
		return "", fmt.Errorf("render rule fragment %s: %w", p, err)
	}
	text := strings.TrimSpace(b.String())
	if text == "" || strings.ContainsAny(text, ";@{}") || strings.Contains(text, "--") || strings.Contains(text, "/*") {
		return "", fmt.Errorf("rule fragment %s must be one expression without ; @ braces or comments (write comments as {{/* */}})", p)
	}
	return text, nil
}

// newTemplate returns a template for the SQL file at path that knows the
// rule fragments.
func newTemplate(path string) (*template.Template, error) {
	funcs, err := ruleFuncs()
	if err != nil {
		return nil, err
	}
	return template.New(path).Option("missingkey=error").Funcs(funcs), nil
}
