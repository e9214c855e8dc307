package console

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/privaudit/privaudit/audit/apierr"
	"github.com/privaudit/privaudit/audit/ingest"
	"github.com/privaudit/privaudit/reports"
	"github.com/privaudit/privaudit/reports/render"
	"github.com/privaudit/privaudit/reports/schedule"
)

// Summarizer computes a report's summary for a period; *reports.Runner is
// one.
type Summarizer interface {
	Summarize(ctx context.Context, req reports.RunRequest) (reports.SummaryResult, error)
}

// DefaultOverviewDays is the overview's period when none is chosen: the
// last 30 days, today included.
const DefaultOverviewDays = 30

// The reports whose summaries the overview draws.
const (
	reportDisclosures = "disclosures"
	reportViolations  = "violations"
	reportConsents    = "consents"
)

// OverviewReports are the reports whose summaries the overview draws.
var OverviewReports = []string{reportDisclosures, reportViolations, reportConsents}

// Pivots of those summaries the overview draws (their reports' titles).
const (
	pivotDisclosures = "Disclosures per recipient and verdict"
	pivotViolations  = "Violations per recipient and verdict"
)

// Figures computes the overview's figures for [from, to): the summaries of
// OverviewReports, run concurrently as actor through s (each recorded as
// that actor's summary run on channel), keyed by report.
func Figures(ctx context.Context, s Summarizer, from, to time.Time, actor, channel string) (map[string]render.Summary, error) {
	var wg sync.WaitGroup
	var mu sync.Mutex
	out := map[string]render.Summary{}
	var errs []error
	for _, name := range OverviewReports {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := s.Summarize(ctx, reports.RunRequest{Report: name, From: from, To: to, Actor: actor, Channel: channel})
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
				return
			}
			out[name] = res.Summary
		}()
	}
	wg.Wait()
	return out, errors.Join(errs...)
}

type overviewData struct {
	Expires            time.Time
	Period             periodForm
	Ready              []string
	HasHealth, HasRuns bool
	Intake             *intakeView
	Runs               []schedule.Run
	RunsErr            string
	HasFigures         bool
	FiguresErr         string
	Sections           []figureSection
}

// periodForm is the overview's period as the form shows it.
type periodForm struct {
	From, To string // date fields (YYYY-MM-DD) or as given
	Text     string // the period in words, to exclusive
	Error    string
}

// overview shows, for the chosen period, the disclosures, violations and
// consent changes as charts with their numbers, the intake's health and the
// latest scheduled runs.
func (c *Console) overview(w http.ResponseWriter, r *http.Request) {
	se := sessionFrom(r.Context())
	d := overviewData{Expires: c.sessions.expiresAt(se), HasHealth: c.o.Ready != nil || c.o.Intake != nil,
		HasRuns: c.o.Runs != nil, HasFigures: c.o.Summaries != nil}
	from, to, err := c.overviewPeriod(r.URL.Query())
	d.Period = periodForm{From: r.URL.Query().Get("from"), To: r.URL.Query().Get("to")}
	status := http.StatusOK
	if err != nil {
		d.Period.Error, status = err.Error(), http.StatusBadRequest
	} else {
		d.Period = periodForm{From: dateField(from), To: dateField(to), Text: reports.PeriodText(from, to, time.UTC)}
	}
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Minute)
	defer cancel()
	if c.o.Ready != nil {
		d.Ready = c.o.Ready(ctx)
	}
	if c.o.Intake != nil {
		d.Intake = newIntakeView(c.o.Intake())
	}
	if c.o.Runs != nil {
		runs, err := c.o.Runs(ctx, schedule.RunFilter{Limit: 10})
		if err != nil {
			c.o.Logger.Warn("console: overview: read runs", "err", err)
			d.RunsErr = "The run history cannot be read just now; reload the page in a minute."
		}
		d.Runs = runs
	}
	if c.o.Summaries != nil && d.Period.Error == "" {
		sums, err := Figures(ctx, c.o.Summaries, from, to, se.Identity.Name, Channel)
		if err != nil {
			c.o.Logger.Warn("console: overview: figures", "err", err)
			d.FiguresErr = figuresError(err)
		} else {
			d.Sections = sections(sums, from, to)
		}
	}
	c.render(w, r, status, "overview", page{Title: "Overview", Nav: "overview", Data: d})
}

// overviewPeriod reads from and to (dates, or RFC 3339 times; to is
// exclusive); without them, the last DefaultOverviewDays days.
func (c *Console) overviewPeriod(q url.Values) (time.Time, time.Time, error) {
	fs, ts := strings.TrimSpace(q.Get("from")), strings.TrimSpace(q.Get("to"))
	if fs == "" && ts == "" {
		to := c.o.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, 1)
		return to.AddDate(0, 0, -DefaultOverviewDays), to, nil
	}
	from, err := reports.ParseTime(fs)
	if err != nil {
		return from, from, fmt.Errorf("From %q is not a date: give one like 2026-10-01 and press Show", fs)
	}
	to, err := reports.ParseTime(ts)
	if err != nil {
		return from, to, fmt.Errorf("To %q is not a date: give one like 2026-11-01 and press Show", ts)
	}
	if !from.Before(to) {
		return from, to, fmt.Errorf("From (%s) must be before To (%s); To is exclusive, so a single day D is From D, To the day after", fs, ts)
	}
	return from, to, nil
}

// dateField is t for a date field: its UTC date at midnight, else RFC 3339.
func dateField(t time.Time) string { return reports.RecordedBound(t) }

// figuresError says why the figures are missing and what to do.
func figuresError(err error) string {
	var ae *apierr.Error
	switch {
	case errors.As(err, &ae) && ae.Code == apierr.Invalid:
		return "The figures cannot be computed for this period: " + ae.Message + ". Choose another period and press Show."
	case errors.As(err, &ae):
		return "The figures cannot be computed just now: " + ae.Message + ". Reload the page in a minute."
	}
	return "The figures cannot be computed just now (ClickHouse may be busy or down). Reload the page in a minute; if it persists, ask an admin to look at privaudit's log."
}

// reportLink is the console's address of a report's rows for the period
// and filters (the Reports page's form for that report, filled in).
func reportLink(report string, from, to time.Time, filters map[string]string) string {
	q := url.Values{"from": {reports.RecordedBound(from)}, "to": {reports.RecordedBound(to)}}
	for k, v := range filters {
		q.Set("filter."+k, v)
	}
	return Prefix + "reports/" + url.PathEscape(report) + "?" + q.Encode()
}

// intakeView is the intake's health, per kind, as the page shows it.
type intakeView struct {
	Since time.Time
	Kinds []intakeKind
}

type intakeKind struct {
	Kind, PerSecond, Spool, Accepted, RejectedRequests, RejectedRecords string
	LastAccepted                                                        time.Time
}

func newIntakeView(h ingest.Health) *intakeView {
	v := &intakeView{Since: h.Since}
	for _, k := range h.Kinds {
		v.Kinds = append(v.Kinds, intakeKind{Kind: string(k.Kind), PerSecond: fmt.Sprintf("%.1f", k.PerSecond),
			Spool:    fmt.Sprintf("%d records (%s of its %s limit)", k.SpoolRecords, mib(k.SpoolBytes), mib(k.SpoolMaxBytes)),
			Accepted: number(float64(k.Accepted)), RejectedRequests: number(float64(k.RejectedRequests)),
			RejectedRecords: number(float64(k.RejectedRecords)), LastAccepted: k.LastAccepted})
	}
	return v
}

// mib shows a byte count in MiB.
func mib(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }
