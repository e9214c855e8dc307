// Package queries holds every SQL statement privaudit sends to ClickHouse, as
// embedded .sql files, and the code that runs them: the migrations runner and
// the guarded runner for ad-hoc SQL. Someone reviewing what privaudit asks the
// database reads this folder alone.
//
// SQL files are Go text/templates over a Schema, which supplies only
// validated identifiers (database names, cluster clause, table engines) —
// never user values — and may include the shared rule fragments of rules/
// ({{disclosure}}, {{violation}}). User values are always bound as query
// parameters.
package queries

import (
	"bytes"
	"embed"
	"fmt"
	"io/fs"
	"regexp"
	"strings"
	"sync"
)

//go:embed migrations/*.sql
var files embed.FS

// Schema names where privaudit's tables live and how they are created.
type Schema struct {
	// DB is the officer-visible database (access and consent events).
	DB string
	// MetaDB is privaudit's own bookkeeping (tokens, migrations, batches,
	// runs); the ad-hoc SQL reader never sees it.
	MetaDB string
	// Cluster, when set, creates tables ON CLUSTER with replicated engines.
	Cluster string
}

// DefaultSchema is the schema of the embedded default.
var DefaultSchema = Schema{DB: "privaudit", MetaDB: "privaudit_meta"}

var identRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,63}$`)

// Validate checks that every name is a plain identifier.
func (s Schema) Validate() error {
	for _, f := range []struct{ name, v string }{{"database", s.DB}, {"meta database", s.MetaDB}} {
		if !identRE.MatchString(f.v) {
			return fmt.Errorf("schema: %s name %q is not a plain identifier (letters, digits, _)", f.name, f.v)
		}
	}
	if s.DB == s.MetaDB {
		return fmt.Errorf("schema: database and meta database must differ (both %q)", s.DB)
	}
	if s.Cluster != "" && !identRE.MatchString(s.Cluster) {
		return fmt.Errorf("schema: cluster name %q is not a plain identifier", s.Cluster)
	}
	return nil
}

// templateData is what SQL templates see.
type templateData struct {
	DB, MetaDB, OnCluster string
	Schema                Schema
	// filters holds every report filter a report statement may test with
	// Filtered, true for those given; nil when none is known (no filter).
	filters map[string]bool
}

// Filtered reports whether the report filter name is given, so a statement
// includes that filter's condition only when it applies: an absent filter
// costs nothing, not even reading its column. An unknown name is an error
// when the filters are known.
func (d templateData) Filtered(name string) (bool, error) {
	on, ok := d.filters[name]
	if !ok && d.filters != nil {
		return false, fmt.Errorf("unknown report filter %q", name)
	}
	return on, nil
}

// Engine renders the table engine for a ReplacingMergeTree table, replicated
// in cluster mode. The optional version column picks the surviving row.
func (d templateData) Engine(table string, version ...string) string {
	args := []string{}
	if d.Schema.Cluster != "" {
		args = append(args, fmt.Sprintf("'/clickhouse/tables/{shard}/%s/%s'", d.DB, table), "'{replica}'")
	}
	args = append(args, version...)
	name := "ReplacingMergeTree"
	if d.Schema.Cluster != "" {
		name = "ReplicatedReplacingMergeTree"
	}
	return name + "(" + strings.Join(args, ", ") + ")"
}

var tmplCache sync.Map // path+schema -> string

// Render returns the SQL of the embedded file at path (e.g.
// "reports/disclosures.sql") for schema s.
func Render(fsys fs.FS, path string, s Schema) (string, error) {
	return renderFiltered(fsys, path, s, nil)
}

// renderFiltered is Render with the filters a statement may test with
// {{if .Filtered "NAME"}} (see templateData.Filtered).
func renderFiltered(fsys fs.FS, path string, s Schema, filters map[string]bool) (string, error) {
	key := fmt.Sprintf("%p|%s|%v|%v", fsys, path, s, filters)
	if v, ok := tmplCache.Load(key); ok {
		return v.(string), nil
	}
	src, err := fs.ReadFile(fsys, path)
	if err != nil {
		return "", fmt.Errorf("read %s: %w", path, err)
	}
	t, err := newTemplate(path)
	if err != nil {
		return "", err
	}
	if t, err = t.Parse(string(src)); err != nil {
		return "", fmt.Errorf("parse %s: %w", path, err)
	}
	data := templateData{DB: s.DB, MetaDB: s.MetaDB, Schema: s, filters: filters}
	if s.Cluster != "" {
		data.OnCluster = "ON CLUSTER " + s.Cluster
	}
	var b bytes.Buffer
	if err := t.Execute(&b, data); err != nil {
		return "", fmt.Errorf("render %s: %w", path, err)
	}
	out := b.String()
	tmplCache.Store(key, out)
	return out, nil
}

// Statements splits a SQL file into statements at semicolons that end a
// line, dropping comment-only and empty statements.
func Statements(sql string) []string {
	var out []string
	var cur strings.Builder
	flush := func() {
		st := strings.TrimSpace(cur.String())
		cur.Reset()
		if st != "" && !commentOnly(st) {
			out = append(out, st)
		}
	}
	for _, line := range strings.Split(sql, "\n") {
		trimmed := strings.TrimRight(line, " \t\r")
		if strings.HasSuffix(trimmed, ";") {
			cur.WriteString(strings.TrimSuffix(trimmed, ";"))
			flush()
			continue
		}
		cur.WriteString(line)
		cur.WriteByte('\n')
	}
	flush()
	return out
}

func commentOnly(st string) bool {
	for _, l := range strings.Split(st, "\n") {
		l = strings.TrimSpace(l)
		if l != "" && !strings.HasPrefix(l, "--") {
			return false
		}
	}
	return true
}

//go:embed ingest/*.sql
var ingestFiles embed.FS

// Ingest returns the rendered SQL of queries/ingest/NAME.sql, the statements
// the ingest writer runs.
func Ingest(name string, s Schema) (string, error) {
	return Render(ingestFiles, "ingest/"+name+".sql", s)
}

//go:embed auth/*.sql
var authFiles embed.FS

// Auth returns the rendered SQL of queries/auth/NAME.sql (API tokens).
func Auth(name string, s Schema) (string, error) {
	return Render(authFiles, "auth/"+name+".sql", s)
}
