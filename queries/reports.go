package queries

import (
	"bytes"
	"embed"
	"fmt"
	"io/fs"
	"strings"
	"sync"
)

//go:embed reports/*.sql
var reportFiles embed.FS

// reportShared is the file of templates every report may include: the
// stored SPEC §3 verdicts ({{template "verdicts" .}}, read from
// access_verdicts) and the in-query engine that recomputes them
// ({{template "evaluated_verdicts" .}}). A report file narrows the events
// it reads by redefining "event_filter" (an SQL fragment starting with AND).
const reportShared = "reports/verdicts.sql"

var reportCache sync.Map // name|section|schema|filters -> string

// Report returns the rendered SQL of queries/reports/NAME.sql for schema s:
// the report's detail query, the file's text outside its {{define}} blocks.
// The shared templates of reports/verdicts.sql are parsed first, so a report
// includes the stored verdict of every event with {{template "verdicts" .}}. User
// values are never part of the template: reports bind them as @name
// parameters.
func Report(name string, s Schema) (string, error) {
	return ReportSection(name, "", s)
}

// ReportSection returns the rendered SQL of the block {{define "SECTION"}} of
// queries/reports/NAME.sql (its summary queries, e.g. "totals"), or the
// detail query when section is empty.
func ReportSection(name, section string, s Schema) (string, error) {
	return ReportFiltered(name, section, s, nil)
}

// ReportFiltered is ReportSection for a run with report filters: filters
// holds every filter the caller knows, true for those given; the
// statements test them with {{if .Filtered "NAME"}} and include only the
// conditions of the filters given (bound as @f_NAME).
func ReportFiltered(name, section string, s Schema, filters map[string]bool) (string, error) {
	key := name + "|" + section + "|" + fmt.Sprint(s) + "|" + fmt.Sprint(filters)
	if v, ok := reportCache.Load(key); ok {
		return v.(string), nil
	}
	if err := s.Validate(); err != nil {
		return "", err
	}
	out, err := renderWithEngine(reportFiles, "reports/"+name+".sql", section, s, filters)
	if err != nil {
		return "", err
	}
	reportCache.Store(key, out)
	return out, nil
}

// ReportNames lists the report SQL files (without .sql), including the
// shared verdicts file, for tests that check every file renders.
func ReportNames() ([]string, error) {
	ents, err := fs.ReadDir(reportFiles, "reports")
	if err != nil {
		return nil, fmt.Errorf("list report sql: %w", err)
	}
	var out []string
	for _, e := range ents {
		if n, ok := cutSQL(e.Name()); ok {
			out = append(out, n)
		}
	}
	return out, nil
}

func cutSQL(name string) (string, bool) {
	const ext = ".sql"
	if len(name) <= len(ext) || name[len(name)-len(ext):] != ext {
		return "", false
	}
	return name[:len(name)-len(ext)], true
}

// renderWithEngine renders the file at path of fsys — or its block
// {{define "SECTION"}} when section is not empty — after parsing the shared
// templates of reports/verdicts.sql (the stored verdicts and the in-query
// engine), which every report and verdict statement may include.
func renderWithEngine(fsys fs.FS, path, section string, s Schema, filters map[string]bool) (string, error) {
	t, err := newTemplate(path)
	if err != nil {
		return "", err
	}
	for _, f := range []struct {
		fsys fs.FS
		path string
	}{{reportFiles, reportShared}, {fsys, path}} {
		src, err := fs.ReadFile(f.fsys, f.path)
		if err != nil {
			return "", fmt.Errorf("read %s: %w", f.path, err)
		}
		if _, err := t.New(f.path).Parse(string(src)); err != nil {
			return "", fmt.Errorf("parse %s: %w", f.path, err)
		}
	}
	data := templateData{DB: s.DB, MetaDB: s.MetaDB, Schema: s, filters: filters}
	if s.Cluster != "" {
		data.OnCluster = "ON CLUSTER " + s.Cluster
	}
	exec := path
	if section != "" {
		exec = section
		if t.Lookup(section) == nil {
			return "", fmt.Errorf("%s: no section %q", path, section)
		}
	}
	var b bytes.Buffer
	if err := t.ExecuteTemplate(&b, exec, data); err != nil {
		return "", fmt.Errorf("render %s %s: %w", path, section, err)
	}
	return strings.TrimSpace(b.String()), nil
}
