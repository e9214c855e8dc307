// Package reportsbench measures privaudit's reports over a generated month
// of events next to ClickHouse reading the same rows raw, in one run: it
// generates N events and their consents, ingests them through privaudit's
// ingest API, then times every report of the catalog, one customer's
// subject-access report and a load of late consents, and beside them the
// raw baselines (the period read with and without FINAL, FINAL in CSV and
// JSONEachRow, one customer's rows). Each figure carries the rows
// ClickHouse read and its peak memory, from system.query_log.
package reportsbench

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/privaudit/privaudit/audit"
	"github.com/privaudit/privaudit/audit/client"
	"github.com/privaudit/privaudit/queries"
	"github.com/privaudit/privaudit/reports"
)

// Target is the ClickHouse the benchmark reads, as its admin user.
type Target struct {
	Conn     driver.Conn // admin connection: setup, waiting, query_log
	Addr     string      // native host:port, for the measured connection
	HTTPAddr string      // HTTP host:port, for the raw baselines
	User     string
	Password string
	Schema   queries.Schema
}

// Options configure Run.
type Options struct {
	Events, Customers int
	Seed              uint64
	// LateConsents is the size of the late-consent load (default 10,000).
	LateConsents int
	// URL and Token reach privaudit's ingest API (a token of role ingest).
	URL, Token string
	// WaitVerdicts, if set, waits until every record the ingesting server
	// accepted is stored with its verdict; the late-consent load calls it
	// once the consents are stored, before rerunning the reports, which
	// read the stored verdicts. Nil: the reports rerun at once.
	WaitVerdicts func(ctx context.Context) error
	// ServerMetrics, if set, returns the ingesting server's counters by
	// series (as /metrics prints them, e.g.
	// `privaudit_verdicts_written_total{step="reevaluate"}`); the late-consent
	// load reads the re-evaluation's rows read and verdicts rewritten from
	// their change.
	ServerMetrics func(ctx context.Context) (map[string]float64, error)
	// Log receives progress lines.
	Log io.Writer
}

// Baseline names, in the order they run and print.
const (
	BaseNull      = "raw period, FORMAT Null"
	BaseNullFinal = "raw period FINAL, FORMAT Null"
	BaseCSVFinal  = "raw period FINAL, FORMAT CSV"
	BaseJSONFinal = "raw period FINAL, FORMAT JSONEachRow"
	BaseCustomer  = "raw one customer's rows"
)

// SubjectAccess is the report measured for one customer.
const SubjectAccess = "subject-access"

// Result holds every figure of a run.
type Result struct {
	Events, Customers, Consents int
	LoadSeconds                 float64
	// TableRows is the rows of the events table, in its parts; Parts
	// its active parts once the load's merges were done.
	TableRows, Parts uint64
	Baselines        []Figure
	// Reports are the catalog's period reports (csv, and one in xlsx)
	// and the subject-access report of one customer.
	Reports []Figure
	// Overview is the console's overview of the period (its figures'
	// rows: totals and pivot rows).
	Overview Figure
	// Timeline is one customer's timeline (the console's customer lookup).
	Timeline Figure
	Late     Late
}

// Late is the late-consent load: consent events dated before events
// already stored, then the reports that must reflect them.
type Late struct {
	Consents     int
	StoreSeconds float64 // until ClickHouse held them all (with Options.WaitVerdicts, and their verdicts)
	// Changeable counts the period's events the late consents can change
	// (same subject and recipient, naming no consent).
	Changeable uint64
	// Reevaluation is what the writers' re-evaluation of the late consents
	// cost, from Options.ServerMetrics (zero without it).
	Reevaluation Reevaluation
	Reports      []Figure
}

// Reevaluation counts what re-evaluating after a consent load read and wrote.
type Reevaluation struct {
	VerdictRows, LedgerRows float64 // rows ClickHouse read: access_verdicts, and the consent ledger
	Rewritten               float64 // verdicts that changed
}

// Reevaluation series of the server's /metrics.
const (
	metricReevalVerdicts = `privaudit_verdicts_reevaluation_rows_read_total{table="access_verdicts"}`
	metricReevalLedger   = `privaudit_verdicts_reevaluation_rows_read_total{table="consent_events"}`
	metricRewritten      = `privaudit_verdicts_written_total{step="reevaluate"}`
)

// reevaluation returns the change of the re-evaluation counters from before.
func (b *bench) reevaluation(ctx context.Context, before map[string]float64) (Reevaluation, error) {
	if b.o.ServerMetrics == nil {
		return Reevaluation{}, nil
	}
	after, err := b.o.ServerMetrics(ctx)
	if err != nil {
		return Reevaluation{}, err
	}
	return Reevaluation{VerdictRows: after[metricReevalVerdicts] - before[metricReevalVerdicts],
		LedgerRows: after[metricReevalLedger] - before[metricReevalLedger],
		Rewritten:  after[metricRewritten] - before[metricRewritten]}, nil
}

// Baseline returns the baseline named name.
func (r Result) Baseline(name string) (Figure, bool) {
	for _, f := range r.Baselines {
		if f.Name == name {
			return f, true
		}
	}
	return Figure{}, false
}

// Run loads the data set and measures everything, one step at a time.
func Run(ctx context.Context, t Target, o Options) (Result, error) {
	if o.LateConsents <= 0 {
		o.LateConsents = 10_000
	}
	if o.Log == nil {
		o.Log = io.Discard
	}
	res := Result{Events: o.Events, Customers: o.Customers}
	start := time.Now()
	st, err := load(ctx, t, o)
	if err != nil {
		return res, fmt.Errorf("load: %w", err)
	}
	res.Consents, res.LoadSeconds = st.Consents, time.Since(start).Seconds()
	if res.Parts, err = settle(ctx, t, o.Log); err != nil {
		return res, err
	}
	if res.TableRows, err = tableRows(ctx, t, "access_events"); err != nil {
		return res, err
	}
	subject, err := pickSubject(ctx, t)
	if err != nil {
		return res, err
	}
	conn, err := openMeasured(ctx, t)
	if err != nil {
		return res, err
	}
	defer conn.Close()
	b := &bench{t: t, o: o, conn: conn, m: &meter{t: t, seen: map[string]bool{}}}
	if b.runner, err = reports.NewRunner(reports.Options{Conn: conn, Schema: t.Schema, Recorder: discardRuns, Version: "bench",
		Logger: slog.New(slog.NewTextHandler(o.Log, &slog.HandlerOptions{Level: slog.LevelWarn}))}); err != nil {
		return res, err
	}
	if res.Baselines, err = b.baselines(ctx, subject); err != nil {
		return res, err
	}
	if res.Reports, err = b.reports(ctx, subject); err != nil {
		return res, err
	}
	if res.Overview, err = b.overview(ctx); err != nil {
		return res, err
	}
	if res.Timeline, err = b.timeline(ctx, subject); err != nil {
		return res, err
	}
	res.Late, err = b.late(ctx)
	return res, err
}

// tableRows returns the rows in the active parts of one of privaudit's
// tables.
func tableRows(ctx context.Context, t Target, table string) (uint64, error) {
	var n uint64
	err := t.Conn.QueryRow(ctx, "SELECT sum(rows) FROM system.parts WHERE active AND database = ? AND table = ?", t.Schema.DB, table).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("count the rows of %s: %w", table, err)
	}
	return n, nil
}

// discardRuns is the Recorder of the benchmark's report runs: recording a
// run is one small write after the report is rendered, outside what is
// measured, and would add the benchmark's own runs to the events table.
func discardRuns(context.Context, ...audit.Event) error { return nil }

// pickSubject returns the customer whose subject-access report is timed:
// the first subject id of the period, the same at every scale.
func pickSubject(ctx context.Context, t Target) (string, error) {
	var s string
	err := t.Conn.QueryRow(ctx, "SELECT min(subject_id) FROM "+t.Schema.DB+".access_events WHERE occurred_at >= ? AND occurred_at < ?",
		periodFrom, periodTo).Scan(&s)
	if err != nil {
		return "", fmt.Errorf("pick a customer: %w", err)
	}
	return s, nil
}

// bench is one run's measuring state.
type bench struct {
	t      Target
	o      Options
	conn   driver.Conn // the measured connection
	m      *meter
	runner *reports.Runner
	seq    int
}

// baselines measures ClickHouse reading the period and one customer raw.
func (b *bench) baselines(ctx context.Context, subject string) ([]Figure, error) {
	period := fmt.Sprintf(" WHERE occurred_at >= toDateTime(%d) AND occurred_at < toDateTime(%d)", periodFrom.Unix(), periodTo.Unix())
	table := b.t.Schema.DB + ".access_events"
	raw := []struct{ name, sql string }{
		{BaseNull, "SELECT * FROM " + table + period + " FORMAT Null"},
		{BaseNullFinal, "SELECT * FROM " + table + " FINAL" + period + " FORMAT Null"},
		{BaseCSVFinal, "SELECT * FROM " + table + " FINAL" + period + " FORMAT CSV"},
		{BaseJSONFinal, "SELECT * FROM " + table + " FINAL" + period + " FORMAT JSONEachRow"},
	}
	var out []Figure
	for _, r := range raw {
		fmt.Fprintf(b.o.Log, "baseline: %s…\n", r.name)
		b.seq++
		id := fmt.Sprintf("reportsbench-%d-%d", time.Now().UnixNano(), b.seq)
		d, lines, err := httpQuery(ctx, b.t, id, r.sql)
		if err != nil {
			return nil, fmt.Errorf("baseline %s: %w", r.name, err)
		}
		f := Figure{Name: r.name, Rows: lines, Seconds: d.Seconds()}
		if err := b.m.collect(ctx, &f, id); err != nil {
			return nil, err
		}
		fmt.Fprintf(b.o.Log, "  %s\n", figureText(f))
		out = append(out, f)
	}
	f, err := b.customerRows(ctx, subject)
	if err != nil {
		return nil, err
	}
	k, err := b.customerKeyRows(ctx, subject)
	if err != nil {
		return nil, err
	}
	return append(out, f, k), nil
}

// customerRows reads one customer's rows of the events table, all columns.
func (b *bench) customerRows(ctx context.Context, subject string) (Figure, error) {
	fmt.Fprintf(b.o.Log, "baseline: %s…\n", BaseCustomer)
	f := Figure{Name: BaseCustomer}
	start := time.Now()
	rows, err := b.conn.Query(ctx, "SELECT * FROM "+b.t.Schema.DB+".access_events WHERE subject_id = ?", subject)
	if err != nil {
		return f, fmt.Errorf("baseline %s: %w", BaseCustomer, err)
	}
	for rows.Next() {
		f.Rows++
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return f, fmt.Errorf("baseline %s: %w", BaseCustomer, err)
	}
	f.Seconds = time.Since(start).Seconds()
	return f, b.m.collect(ctx, &f, "")
}

// xlsxReport is the report also measured in xlsx.
const xlsxReport = "violations"

// reports runs every period report of the catalog in csv (and xlsxReport
// in xlsx), then the subject-access report of subject.
func (b *bench) reports(ctx context.Context, subject string) ([]Figure, error) {
	var out []Figure
	for _, d := range b.runner.Catalog().List() {
		if d.SubjectParam != "" {
			continue
		}
		formats := []string{"csv"}
		if d.Name == xlsxReport {
			formats = append(formats, "xlsx")
		}
		for _, format := range formats {
			f, err := b.report(ctx, d.Name, format, nil)
			if err != nil {
				return nil, err
			}
			out = append(out, f)
		}
	}
	f, err := b.report(ctx, SubjectAccess, "csv", map[string]string{"subject_id": subject})
	if err != nil {
		return nil, err
	}
	return append(out, f), nil
}

// report runs one report over the period into io.Discard. A report that
// fails (ClickHouse out of memory, say) is a figure too: its error is
// kept and the run goes on.
func (b *bench) report(ctx context.Context, name, format string, params map[string]string) (Figure, error) {
	fmt.Fprintf(b.o.Log, "report: %s %s…\n", name, format)
	f := Figure{Name: name + " " + format}
	start := time.Now()
	res, err := b.runner.Run(ctx, reports.RunRequest{Report: name, From: periodFrom, To: periodTo, Params: params,
		Format: format, Actor: "reportsbench", Channel: "bench", Out: io.Discard})
	f.Seconds, f.Rows = time.Since(start).Seconds(), res.Rows
	if err != nil {
		if ctx.Err() != nil {
			return f, fmt.Errorf("report %s %s: %w", name, format, err)
		}
		f.Err = err.Error()
		fmt.Fprintf(b.o.Log, "  FAILED after %.1f s: %s\n", f.Seconds, f.Err)
		return f, nil
	}
	if err := b.m.collect(ctx, &f, ""); err != nil {
		return f, err
	}
	fmt.Fprintf(b.o.Log, "  %s\n", figureText(f))
	return f, nil
}

// lateReports are the reports a late consent changes: the verdicts and
// what is counted from them, and the affected customer's own report.
var lateReports = []string{"violations", "recipients", "processing-inventory"}

// late sends the late consents through privaudit's ingest API, waits until
// they are stored, and reruns the reports that must reflect them.
func (b *bench) late(ctx context.Context) (Late, error) {
	l := Late{Consents: b.o.LateConsents}
	body, err := lateConsents(ctx, b.t, b.o.LateConsents)
	if err != nil {
		return l, err
	}
	before, err := tableRows(ctx, b.t, "consent_events")
	if err != nil {
		return l, err
	}
	var metricsBefore map[string]float64
	if b.o.ServerMetrics != nil {
		if metricsBefore, err = b.o.ServerMetrics(ctx); err != nil {
			return l, err
		}
	}
	fmt.Fprintf(b.o.Log, "late consents: sending %d…\n", l.Consents)
	start := time.Now()
	s := client.New(client.Options{Server: b.o.URL, Token: b.o.Token})
	if err := send(ctx, s, audit.KindConsents, "late-consents", bytes.NewReader(body)); err != nil {
		return l, err
	}
	if err := waitStored(ctx, b.t, 0, before+uint64(l.Consents)); err != nil {
		return l, err
	}
	if b.o.WaitVerdicts != nil {
		if err := b.o.WaitVerdicts(ctx); err != nil {
			return l, fmt.Errorf("late consents: wait for their verdicts: %w", err)
		}
	}
	l.StoreSeconds = time.Since(start).Seconds()
	if l.Reevaluation, err = b.reevaluation(ctx, metricsBefore); err != nil {
		return l, err
	}
	if l.Changeable, err = b.changeable(ctx); err != nil {
		return l, err
	}
	var subject string
	if err := b.t.Conn.QueryRow(ctx, "SELECT min(subject_id) FROM "+b.t.Schema.DB+".consent_events WHERE startsWith(consent_id, ?)",
		LateConsentPrefix).Scan(&subject); err != nil {
		return l, fmt.Errorf("late consents: pick a customer: %w", err)
	}
	for _, name := range lateReports {
		f, err := b.report(ctx, name, "csv", nil)
		if err != nil {
			return l, err
		}
		l.Reports = append(l.Reports, f)
	}
	f, err := b.report(ctx, SubjectAccess, "csv", map[string]string{"subject_id": subject})
	if err != nil {
		return l, err
	}
	l.Reports = append(l.Reports, f)
	return l, nil
}

// changeable counts the period's events naming no consent whose subject
// and recipient a late consent names, at or after its effective time.
func (b *bench) changeable(ctx context.Context) (uint64, error) {
	db := b.t.Schema.DB
	q := "SELECT count() FROM " + db + ".access_events FINAL WHERE occurred_at >= ? AND occurred_at < ? AND consent_id = ''" +
		" AND (subject_id, recipient_id) IN (SELECT subject_id, recipient_id FROM " + db + ".consent_events WHERE startsWith(consent_id, ?))"
	var n uint64
	if err := b.t.Conn.QueryRow(ctx, q, periodFrom, periodTo, LateConsentPrefix).Scan(&n); err != nil {
		return 0, fmt.Errorf("late consents: count the events they can change: %w", err)
	}
	return n, nil
}
