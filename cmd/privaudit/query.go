package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/privaudit/privaudit/reports/sqlconsole"
)

const queryUsage = `usage:
  privaudit query "SQL"                          one read statement (- reads it from stdin)
  privaudit query --saved NAME [--param k=v]…    a saved query
  privaudit query --list                         the saved queries and their parameters
flags: --format table|csv|json|ndjson|xlsx (default: table on a terminal, else csv), --out FILE`

// queryFlags are the flags of `privaudit query`.
type queryFlags struct {
	saved, format, out string
	list               bool
	params             paramFlag
}

// query is `privaudit query`, a client of a running server's /v1/query.
func (m *Main) query(ctx context.Context, args []string) error {
	sql, rest := "", args
	if len(args) > 0 && (!strings.HasPrefix(args[0], "-") || args[0] == "-") {
		sql, rest = args[0], args[1:]
	}
	qf := queryFlags{params: paramFlag{}}
	fs, err := m.parse("query", rest, func(fs *flag.FlagSet) {
		fs.StringVar(&qf.saved, "saved", "", "run the saved query NAME (see --list)")
		fs.Var(qf.params, "param", "saved query parameter NAME=VALUE (repeatable)")
		fs.BoolVar(&qf.list, "list", false, "list the saved queries")
		fs.StringVar(&qf.format, "format", "", "table, csv, json, ndjson or xlsx (default: from --out's extension, else table on a terminal, csv otherwise)")
		fs.StringVar(&qf.out, "out", "", "write the result to FILE (required for xlsx on a terminal)")
	})
	if err != nil {
		return err
	}
	if sql == "" && fs.NArg() == 1 {
		sql = fs.Arg(0)
	} else if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("unexpected arguments %q (quote the SQL as one argument)\n%s", fs.Args(), queryUsage)}
	}
	if m.Config.Token == "" {
		return errors.New("no token: set PRIVAUDIT_TOKEN or --token (create one with `privaudit token create --role officer`)")
	}
	if qf.list {
		if sql != "" || qf.saved != "" {
			return usageError{"--list takes no SQL and no --saved\n" + queryUsage}
		}
		return m.queryList(ctx, qf.format)
	}
	req, err := m.queryRequest(sql, qf)
	if err != nil {
		return err
	}
	return m.runQuery(ctx, req, qf.out)
}

// queryRequest builds the request body from the command line.
func (m *Main) queryRequest(sql string, qf queryFlags) (sqlconsole.Request, error) {
	req := sqlconsole.Request{SQL: sql, Saved: qf.saved, Params: qf.params, Format: qf.format}
	if sql == "-" {
		b, err := io.ReadAll(os.Stdin)
		if err != nil {
			return req, fmt.Errorf("read SQL from stdin: %w", err)
		}
		req.SQL = string(b)
	}
	switch {
	case (req.SQL == "") == (req.Saved == ""):
		return req, usageError{"give either SQL or --saved NAME\n" + queryUsage}
	case req.SQL != "" && len(req.Params) > 0:
		return req, usageError{"--param goes with --saved; ad-hoc SQL takes no parameters"}
	}
	if len(req.Params) == 0 {
		req.Params = nil
	}
	if req.Format == "" {
		req.Format = m.defaultQueryFormat(qf.out)
	}
	if err := m.refuseBinaryToTerminal(req.Format, qf.out); err != nil {
		return req, err
	}
	return req, nil
}

func (m *Main) defaultQueryFormat(out string) string {
	switch strings.ToLower(filepath.Ext(out)) {
	case ".xlsx":
		return "xlsx"
	case ".csv":
		return "csv"
	case ".json":
		return "json"
	case ".ndjson":
		return "ndjson"
	case ".txt":
		return "table"
	}
	if out == "" && isTerminal(m.Stdout) {
		return "table"
	}
	return "csv"
}

// runQuery posts req and streams the answer to out (stdout when empty).
func (m *Main) runQuery(ctx context.Context, req sqlconsole.Request, out string) error {
	body, err := json.Marshal(req)
	if err != nil {
		return err
	}
	resp, err := m.api(ctx, apiCall{method: http.MethodPost, path: "/v1/query", body: body})
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	src := &trailerCheck{resp: resp}
	if out == "" || out == "-" {
		_, err = io.Copy(m.Stdout, src)
	} else {
		err = writeAtomic(out, src)
	}
	if err != nil {
		return fmt.Errorf("query: %w", err)
	}
	rows := firstNonEmpty(resp.Trailer.Get(sqlconsole.HeaderRows), resp.Header.Get(sqlconsole.HeaderRows))
	if out != "" && out != "-" {
		fmt.Fprintf(m.Stderr, "query: wrote %s (%s rows)\n", out, rows)
	}
	if firstNonEmpty(resp.Trailer.Get(sqlconsole.HeaderTruncated), resp.Header.Get(sqlconsole.HeaderTruncated)) == "true" {
		fmt.Fprintf(m.Stderr, "query: the result was cut at the server's cap of %s rows; add filters, aggregation or LIMIT\n",
			resp.Header.Get(sqlconsole.HeaderMaxRows))
	}
	return nil
}

func firstNonEmpty(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}

// trailerCheck reads a streamed answer and turns an error the server
// reported in its trailer (the query failed after the first rows) into a
// read error.
type trailerCheck struct{ resp *http.Response }

func (t *trailerCheck) Read(p []byte) (int, error) {
	n, err := t.resp.Body.Read(p)
	if errors.Is(err, io.EOF) {
		if msg := t.resp.Trailer.Get(sqlconsole.HeaderError); msg != "" {
			return n, errors.New(msg)
		}
	}
	return n, err
}

// queryList prints the saved queries: as json with --format json, else as
// text with each query's parameters.
func (m *Main) queryList(ctx context.Context, format string) error {
	resp, err := m.api(ctx, apiCall{method: http.MethodGet, path: "/v1/queries"})
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if format == "json" {
		_, err := io.Copy(m.Stdout, resp.Body)
		return err
	}
	var list sqlconsole.ListResponse
	if err := json.NewDecoder(resp.Body).Decode(&list); err != nil {
		return fmt.Errorf("query list: bad answer from %s: %w", m.Config.Server, err)
	}
	for _, q := range list.Queries {
		fmt.Fprintf(m.Stdout, "%s — %s\n  %s\n", q.Name, q.Title, q.Description)
		for _, p := range q.Params {
			arg := fmt.Sprintf("--param %s=%s", p.Name, p.Type)
			if !p.Required {
				arg += fmt.Sprintf(" (optional, default %q)", p.Default)
			}
			fmt.Fprintf(m.Stdout, "    %-42s %s\n", arg, p.Description)
		}
		fmt.Fprintln(m.Stdout)
	}
	fmt.Fprintf(m.Stdout, "Run one: privaudit query --saved NAME --param k=v …  (results are capped at %d rows)\n", list.MaxRows)
	return nil
}
