package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/privaudit/privaudit/reports"
)

const reportUsage = `usage:
  privaudit report list
  privaudit report run NAME --from DATE --to DATE [--param k=v]… [--filter k=v]… [--format xlsx|csv|json|html] [--tz ZONE] [--out FILE] [--audience customer]`

// report is `privaudit report list|run`, a client of a running server.
func (m *Main) report(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return usageError{reportUsage}
	}
	switch args[0] {
	case "list":
		return m.reportList(ctx, args[1:])
	case "run":
		return m.reportRun(ctx, args[1:])
	}
	return usageError{fmt.Sprintf("unknown report command %q\n%s", args[0], reportUsage)}
}

func (m *Main) reportList(ctx context.Context, args []string) error {
	if _, err := m.parse("report list", args, nil); err != nil {
		return err
	}
	resp, err := m.api(ctx, apiCall{method: http.MethodGet, path: "/v1/reports"})
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var cat reports.CatalogResponse
	if err := json.NewDecoder(resp.Body).Decode(&cat); err != nil {
		return fmt.Errorf("report list: bad answer from %s: %w", m.Config.Server, err)
	}
	tw := tabwriter.NewWriter(m.Stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "REPORT\tPARAMETERS\tFILTERS\tTITLE")
	for _, r := range cat.Reports {
		var ps []string
		for _, p := range r.Params {
			if p.Required {
				ps = append(ps, p.Name+" (required)")
			} else {
				ps = append(ps, p.Name+"="+p.Default)
			}
		}
		if len(ps) == 0 {
			ps = []string{"-"}
		}
		fs := []string{"-"}
		for i, f := range r.Filters {
			if i == 0 {
				fs = nil
			}
			fs = append(fs, f.Name)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", r.Name, strings.Join(ps, ", "), strings.Join(fs, ","), r.Title)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(m.Stdout, "\nEvery report takes --from and --to (dates like 2026-10-01 or RFC 3339 timestamps, UTC; the period is [from, to)).\n"+
		"--filter NAME=VALUE keeps only the rows that match (one value per filter; several filters must all match).\nFormats: %s\n",
		strings.Join(cat.Formats, ", "))
	return nil
}

// runFlags are the flags of `report run`.
type runFlags struct {
	from, to, format, out string
	audience, tz          string
	params                paramFlag
	filters               filterFlag
	allowEmpty            bool
}

// paramFlag collects repeated --param k=v.
type paramFlag map[string]string

func (p paramFlag) String() string { return "" }

func (p paramFlag) Set(v string) error {
	k, val, ok := strings.Cut(v, "=")
	if !ok || k == "" {
		return fmt.Errorf("want --param NAME=VALUE, got %q", v)
	}
	p[k] = val
	return nil
}

// filterFlag collects repeated --filter k=v, one value per name.
type filterFlag map[string]string

func (f filterFlag) String() string { return "" }

func (f filterFlag) Set(v string) error {
	k, val, ok := strings.Cut(v, "=")
	if !ok || k == "" {
		return fmt.Errorf("want --filter NAME=VALUE, got %q", v)
	}
	if _, dup := f[k]; dup {
		return fmt.Errorf("--filter %s is given twice: a filter takes one value (filters of different names combine: all must match)", k)
	}
	f[k] = val
	return nil
}

func (m *Main) reportRun(ctx context.Context, args []string) error {
	name, rest := "", args
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		name, rest = args[0], args[1:]
	}
	rf := runFlags{params: paramFlag{}, filters: filterFlag{}}
	fs, err := m.parse("report run", rest, func(fs *flag.FlagSet) {
		fs.StringVar(&rf.from, "from", "", "start of the period, inclusive (2026-10-01 or RFC 3339)")
		fs.StringVar(&rf.to, "to", "", "end of the period, exclusive")
		fs.Var(rf.params, "param", "report parameter NAME=VALUE (repeatable); see `privaudit report list`")
		fs.Var(rf.filters, "filter", "keep only rows where NAME=VALUE (repeatable, one value per NAME); see `privaudit report list`")
		fs.StringVar(&rf.format, "format", "", "xlsx, csv, json or html (default: from --out's extension, else xlsx)")
		fs.StringVar(&rf.audience, "audience", "", "customer: the customer-ready form of the report (subject-access), to send to the customer")
		fs.StringVar(&rf.tz, "tz", "", "time zone of the times the xlsx shows, e.g. Europe/Paris (default UTC; csv and json stay UTC)")
		fs.StringVar(&rf.out, "out", "", "file to write (default: the server's file name in the current directory; - for stdout)")
		fs.BoolVar(&rf.allowEmpty, "allow-empty", false, "succeed when subject-access finds nothing at all about the customer (else: a warning and exit status 1)")
	})
	if err != nil {
		return err
	}
	if name == "" && fs.NArg() > 0 {
		// The name came after some flags: the flags after it count too.
		name = fs.Arg(0)
		if err := fs.Parse(fs.Args()[1:]); err != nil {
			return usageError{err.Error()}
		}
		if err := m.Config.Validate(); err != nil {
			return err
		}
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("unexpected arguments %v (flags go after the report name)\n%s", fs.Args(), reportUsage)}
	}
	if name == "" || rf.from == "" || rf.to == "" {
		return usageError{"a report name, --from and --to are required\n" + reportUsage}
	}
	if name, err = reports.ForAudience(name, rf.audience); err != nil {
		return usageError{err.Error()}
	}
	for _, b := range []string{rf.from, rf.to} {
		if _, err := reports.ParseTime(b); err != nil {
			return usageError{"period: " + err.Error()}
		}
	}
	if err := checkOutFormat(rf.out, rf.format); err != nil {
		return err
	}
	if _, err := reports.LoadZone(rf.tz); err != nil {
		return usageError{"--tz: " + err.Error()}
	}
	if rf.format == "" {
		rf.format = formatFromName(rf.out)
	}
	if err := m.refuseBinaryToTerminal(rf.format, rf.out); err != nil {
		return err
	}
	q := reports.QueryValues(rf.from, rf.to, rf.format, rf.params)
	if rf.tz != "" {
		q.Set("tz", rf.tz)
	}
	reports.SetFilters(q, rf.filters)
	rows, err := m.download(ctx, name, q, rf.out)
	if err == nil && (name == "subject-access" || name == reports.CustomerSubjectAccess) && rows == "0" && len(rf.filters) == 0 && !rf.allowEmpty {
		return fmt.Errorf("%s: nothing at all is recorded about subject_id %q up to %s (no access, disclosure or consent): "+
			"check the id; the empty report was written anyway; pass --allow-empty when no record is the answer", name, rf.params["subject_id"], rf.to)
	}
	return err
}

// checkOutFormat refuses an --out whose extension names another format
// than --format: a file called .xlsx holding csv opens as garbage.
func checkOutFormat(out, format string) error {
	ext := strings.ToLower(strings.TrimPrefix(filepath.Ext(out), "."))
	switch ext {
	case "xlsx", "csv", "json", "html":
	default:
		return nil
	}
	if format != "" && format != ext {
		return usageError{fmt.Sprintf("--out %s is a .%s file but --format is %s: drop --format, or name the file .%s", out, ext, format, format)}
	}
	return nil
}

// formatFromName guesses the format from a file name's extension.
func formatFromName(name string) string {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".csv":
		return "csv"
	case ".json":
		return "json"
	case ".html":
		return "html"
	}
	return "xlsx"
}

// download fetches one report and writes it to out atomically: into a
// temporary file next to it, renamed only once the download is complete.
// It returns the row count the server sent in the trailer.
func (m *Main) download(ctx context.Context, name string, q url.Values, out string) (string, error) {
	stop := m.heartbeat(name, 5*time.Second)
	resp, err := m.api(ctx, apiCall{method: http.MethodGet, path: "/v1/reports/" + url.PathEscape(name), query: q})
	stop()
	if err != nil {
		return "", fmt.Errorf("report %s: %w", name, err)
	}
	defer resp.Body.Close()
	if out == "" {
		out = serverFilename(resp, name)
	}
	pw := &progressWriter{w: m.Stderr, name: name, start: time.Now(), last: time.Now()}
	if out == "-" {
		if _, err := io.Copy(io.MultiWriter(m.Stdout, pw), resp.Body); err != nil {
			return "", fmt.Errorf("report %s: download interrupted: %w", name, err)
		}
	} else if err := writeAtomic(out, io.TeeReader(resp.Body, pw)); err != nil {
		return "", fmt.Errorf("report %s: %w; nothing was written to %s", name, err, out)
	}
	rows, sum := resp.Trailer.Get(reports.TrailerRows), resp.Trailer.Get(reports.TrailerSHA256)
	fmt.Fprintf(m.Stderr, "report %s: wrote %s (%s rows, %d bytes, %.1fs); sha256 of the detail data %s; consent ledger position %s; proof log checkpoint %s\n",
		name, out, rows, pw.n, time.Since(pw.start).Seconds(), sum, resp.Trailer.Get(reports.TrailerLedger), resp.Trailer.Get(reports.TrailerCheckpoint))
	return rows, nil
}

// heartbeat prints a line every interval until stop is called: the server
// sends the first byte of a report only once it knows the report will not
// fail early (an xlsx only when complete), which can take a while.
func (m *Main) heartbeat(name string, interval time.Duration) (stop func()) {
	done := make(chan struct{})
	finished := make(chan struct{})
	start := time.Now()
	go func() {
		defer close(finished)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				fmt.Fprintf(m.Stderr, "report %s: the server is preparing the report (%.0fs)…\n", name, time.Since(start).Seconds())
			}
		}
	}()
	return func() {
		close(done)
		<-finished
	}
}

// serverFilename is the file name the server suggests, without any path.
func serverFilename(resp *http.Response, name string) string {
	if _, ps, err := mime.ParseMediaType(resp.Header.Get("Content-Disposition")); err == nil {
		if f := filepath.Base(ps["filename"]); f != "." && f != "/" && f != "" {
			return f
		}
	}
	return name + ".xlsx"
}

// writeAtomic copies r into a temporary file in path's directory, syncs it
// and renames it to path; on any error the temporary file is removed.
func writeAtomic(path string, r io.Reader) (err error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".*.part")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if _, err = io.Copy(f, r); err != nil {
		return fmt.Errorf("download interrupted (the server failed or the connection broke): %w", err)
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}

// progressWriter counts the bytes received and reports them on stderr
// every two seconds.
type progressWriter struct {
	w           io.Writer
	name        string
	n           int64
	start, last time.Time
}

func (p *progressWriter) Write(b []byte) (int, error) {
	p.n += int64(len(b))
	if time.Since(p.last) >= 2*time.Second {
		p.last = time.Now()
		mb := float64(p.n) / (1 << 20)
		fmt.Fprintf(p.w, "report %s: %.1f MiB received (%.1f MiB/s)\n", p.name, mb, mb/time.Since(p.start).Seconds())
	}
	return len(b), nil
}
