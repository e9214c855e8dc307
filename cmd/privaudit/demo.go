package main

import (
	"context"
	_ "embed"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"gopkg.in/yaml.v3"

	"github.com/privaudit/privaudit/audit"
	"github.com/privaudit/privaudit/audit/auth"
	"github.com/privaudit/privaudit/audit/synth"
	"github.com/privaudit/privaudit/queries"
	"github.com/privaudit/privaudit/reports"
	"github.com/privaudit/privaudit/reports/render"
	"github.com/privaudit/privaudit/reports/schedule"
)

func (m *Main) demo(ctx context.Context, args []string) error {
	var customers, events int
	if _, err := m.parse("demo", args, func(fs *flag.FlagSet) {
		fs.IntVar(&customers, "customers", 20000, "customers in the synthetic data set")
		fs.IntVar(&events, "events", 300000, "access events in the month")
	}); err != nil {
		return err
	}
	m.Config.Listen = "127.0.0.1:0"
	if len(m.Config.Schedules) == 0 {
		if err := yaml.Unmarshal(demoSchedules, &m.Config); err != nil {
			return fmt.Errorf("demo schedules: %w", err)
		}
	}
	out := m.Stdout
	fmt.Fprintf(out, "== privaudit demo (data in %s)\n", m.Config.DataDir)
	srv, err := m.startServer(ctx)
	if err != nil {
		return err
	}
	defer srv.Shutdown()
	fmt.Fprintf(out, "1. serving on %s with a managed ClickHouse\n", srv.URL)
	tok, err := srv.tokens.Create(ctx, "demo-ingest", auth.RoleIngest)
	if err != nil {
		return err
	}
	dir := filepath.Join(m.Config.DataDir, "demo-input")
	now := time.Now().UTC()
	to := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC)
	from := to.AddDate(0, -1, 0)
	o := synth.Options{Seed: 42, Customers: customers, Events: events, Now: now, From: from, To: to}
	start := time.Now()
	stats, err := generateFiles(ctx, dir, o)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "2. generated the bank ↔ messaging platform story: %d events, %d consent events (%s)\n",
		stats.Events, stats.Consents, time.Since(start).Round(time.Millisecond))
	m.Config.Server, m.Config.Token = srv.URL, tok
	if err := m.demoIngest(ctx, srv, dir, stats); err != nil {
		return err
	}
	outDir := filepath.Join(m.Config.DataDir, "reports")
	fmt.Fprintf(out, "5. nightly report set for %s – %s in %s:\n", from.Format(time.DateOnly), to.Format(time.DateOnly), outDir)
	if err := m.demoReports(ctx, srv, outDir, from, to); err != nil {
		return err
	}
	fmt.Fprintln(out, "   (the demo loads a month of history at once, so a consent effective more than backdated_days\n"+
		"   before it was loaded counts as backdated, as a real backfill would)")
	if err := m.demoSchedules(ctx, srv); err != nil {
		return err
	}
	shared, err := m.demoOfficer(ctx, srv, outDir, from, to)
	if err != nil {
		return err
	}
	if err := m.demoProof(ctx, srv, shared, outDir); err != nil {
		return err
	}
	return m.demoConsole(ctx, srv.URL, m.Config.Token)
}

// demoConsole prints where to click through the story: the console's
// address and the officer token to sign in with. On a terminal it keeps
// serving until Ctrl-C; otherwise (CI, tests, a pipe) the demo ends here.
func (m *Main) demoConsole(ctx context.Context, url, officerToken string) error {
	fmt.Fprintf(m.Stdout, "10. the officers' console: %s/console/ — sign in with the officer token\n   %s\n", url, officerToken)
	if !isTerminal(m.Stdout) {
		fmt.Fprintln(m.Stdout, "   (not a terminal: the demo stops here; run `make demo` in a terminal to keep it serving)")
		return nil
	}
	fmt.Fprintln(m.Stdout, "   serving until Ctrl-C")
	<-ctx.Done()
	fmt.Fprintln(m.Stdout, "   stopping")
	return nil
}

//go:embed demo-schedules.yaml
var demoSchedules []byte

// demoSchedules shows the configured schedule set and runs the monthly one
// now, through the same path as the scheduler.
func (m *Main) demoSchedules(ctx context.Context, srv *server) error {
	fmt.Fprintln(m.Stdout, "6. schedules (demo-schedules.yaml; `privaudit schedule list`):")
	for _, st := range srv.scheduler.List() {
		fmt.Fprintf(m.Stdout, "   %-30s %-12s %-22s next %s\n", st.Name, st.Cron, st.Report, st.Next.Format(time.RFC3339))
	}
	const name = "monthly-processing-inventory"
	run, err := srv.scheduler.RunNow(ctx, name)
	if err != nil {
		return fmt.Errorf("run schedule %s: %w", name, err)
	}
	fmt.Fprintf(m.Stdout, "7. ran %s now: %s, %d rows, %s – %s, files:\n", name, run.Status, run.Rows,
		run.From.Format(time.DateOnly), run.To.Format(time.DateOnly))
	for _, f := range run.Files {
		fmt.Fprintf(m.Stdout, "   %s (%d bytes, sha256 %.16s…)\n", f.Path, f.Size, f.SHA256)
	}
	if run.Status != schedule.StatusSuccess {
		return fmt.Errorf("schedule %s ended %s: %s", name, run.Status, run.Error)
	}
	return nil
}

// demoIngest sends the generated files through the HTTP API, consents first,
// waits until ClickHouse has them and checks the stored counts.
func (m *Main) demoIngest(ctx context.Context, srv *server, dir string, stats synth.Stats) error {
	start := time.Now()
	for _, k := range []audit.Kind{audit.KindConsents, audit.KindEvents} {
		sum, err := m.send(ctx, k, []string{filepath.Join(dir, string(k)+".ndjson")}, 4)
		for i, p := range sum.Problems {
			if i == 10 {
				break
			}
			fmt.Fprintln(m.Stderr, p)
		}
		if err != nil {
			return fmt.Errorf("ingest %s: %w", k, err)
		}
		fmt.Fprintf(m.Stdout, "3. sent %s through POST /v1/%s: %d accepted, %d rejected\n", k, k, sum.Accepted, sum.Rejected)
	}
	wctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	if err := srv.ingestor.WaitStored(wctx); err != nil {
		return err
	}
	took := time.Since(start)
	ev, cs, err := storedCounts(ctx, srv.st.Conn, m.Config.Schema())
	if err != nil {
		return err
	}
	fmt.Fprintf(m.Stdout, "4. stored in ClickHouse: %d access events, %d consent events in %s (%.0f records/s through HTTP → spool → ClickHouse)\n",
		ev, cs, took.Round(time.Millisecond), float64(ev+cs)/took.Seconds())
	if int(ev) != stats.Events || int(cs) != stats.Consents {
		return fmt.Errorf("stored %d events and %d consent events, generated %d and %d", ev, cs, stats.Events, stats.Consents)
	}
	return nil
}

// demoReport is one report of the demo's nightly set.
type demoReport struct {
	name    string
	formats []string
	pivot   bool // print the first pivot's column totals
}

var demoSet = []demoReport{
	{"disclosures", []string{"xlsx", "csv"}, false},
	{"violations", []string{"xlsx", "csv"}, true},
	{"recipients", []string{"xlsx"}, false},
	{"consents", []string{"xlsx"}, false},
	{"processing-inventory", []string{"xlsx"}, false},
	{"access-review", []string{"xlsx"}, false},
}

// demoReports runs the nightly set through the same runner the API uses and
// prints a short summary of each.
func (m *Main) demoReports(ctx context.Context, srv *server, dir string, from, to time.Time) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, d := range demoSet {
		for _, f := range d.formats {
			res, err := runToFile(ctx, srv.reports, reports.RunRequest{Report: d.name, From: from, To: to,
				Format: f, Actor: "demo", ActorType: "system", Channel: "schedule"}, dir)
			if err != nil {
				return fmt.Errorf("report %s: %w", d.name, err)
			}
			line := fmt.Sprintf("   %-22s %-5s %9d rows  %s", d.name, f, res.Rows, res.Filename)
			if res.Summary != nil {
				line += "\n      " + summaryLine(res.Summary, d.pivot)
			}
			fmt.Fprintln(m.Stdout, line)
		}
	}
	return nil
}

// runToFile runs a report into dir/filename, atomically.
func runToFile(ctx context.Context, r *reports.Runner, req reports.RunRequest, dir string) (reports.RunResult, error) {
	tmp, err := os.CreateTemp(dir, ".report-*")
	if err != nil {
		return reports.RunResult{}, err
	}
	defer os.Remove(tmp.Name())
	req.Out = tmp
	res, err := r.Run(ctx, req)
	if err != nil {
		tmp.Close()
		return res, err
	}
	if err := tmp.Close(); err != nil {
		return res, err
	}
	return res, os.Rename(tmp.Name(), filepath.Join(dir, res.Filename))
}

// summaryLine prints a report's totals and, if asked, its first pivot's
// column totals.
func summaryLine(s *render.Summary, pivot bool) string {
	var parts []string
	for _, t := range s.Totals {
		parts = append(parts, fmt.Sprintf("%s %s", t.Label, humanNumber(t.Value)))
	}
	if pivot && len(s.Pivots) > 0 {
		p := s.Pivots[0]
		sums := make([]float64, len(p.ColHeaders))
		for _, r := range p.Rows {
			for i, v := range r.Values {
				if i < len(sums) {
					sums[i] += v
				}
			}
		}
		var cols []string
		for i, h := range p.ColHeaders {
			if sums[i] > 0 {
				cols = append(cols, fmt.Sprintf("%s %s", h, humanNumber(sums[i])))
			}
		}
		if len(cols) > 0 {
			parts = append(parts, fmt.Sprintf("%s: %s", strings.ToLower(p.Title), strings.Join(cols, ", ")))
		}
	}
	return strings.Join(parts, "; ")
}

func humanNumber(v float64) string {
	if v != float64(int64(v)) {
		return strconv.FormatFloat(v, 'f', 1, 64)
	}
	s := strconv.FormatInt(int64(v), 10)
	for i := len(s) - 3; i > 0 && s[i-1] != '-'; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

func storedCounts(ctx context.Context, conn driver.Conn, s queries.Schema) (events, consents uint64, err error) {
	q, err := queries.Ingest("counts", s)
	if err != nil {
		return 0, 0, err
	}
	err = conn.QueryRow(ctx, q).Scan(&events, &consents)
	return events, consents, err
}
