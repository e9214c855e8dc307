// Package schedule runs reports unattended: cron schedules from the
// configuration (robfig/cron), each producing a report for a period relative
// to its fire time (the previous day, ISO week or month in the schedule's
// time zone, or an explicit window) in one or more formats. Runs never
// overlap per schedule, are retried with backoff, recover from panics, catch
// up what was missed while privaudit was down, write their files atomically,
// prune old outputs and are recorded in MetaDB.report_runs. A successful
// run is delivered to the schedule's targets — e-mail over SMTP, a signed
// webhook — with bounded retries recorded in MetaDB.report_deliveries.
package schedule

import (
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"time"
	_ "time/tzdata" // time zones work on hosts without /usr/share/zoneinfo

	"github.com/robfig/cron/v3"

	"github.com/privaudit/privaudit/reports"
)

// Period kinds: the window a run covers, relative to its fire time.
const (
	PreviousDay   = "previous_day"   // the calendar day before the fire time's day
	PreviousWeek  = "previous_week"  // the ISO week (Monday–Sunday) before the fire time's week
	PreviousMonth = "previous_month" // the calendar month before the fire time's month
	Explicit      = "explicit"       // the fixed window from–to
)

// DefaultFilename is the file-name pattern of a schedule that names none.
//
// Tokens: {schedule}, {report}, {from} and {to} (the period bounds: a date
// 2026-03-28 when the bound is midnight in the schedule's time zone, else
// 2026-03-28T0130), {fired} (the fire time to the second, 2026-03-29T020000,
// in the schedule's time zone), {run} (the first 8 characters of the run
// id) and {ext} (the format: xlsx, csv, json). Other text may use letters,
// digits, '.', '-' and '_'. Every run writes names of its own: a pattern
// without {run} gets "_{run}" before its extension (see withRun).
const DefaultFilename = "{report}_{from}_{to}_{run}.{ext}"

// firedLayout formats {fired}.
const firedLayout = "2006-01-02T150405"

// DefaultRetryBackoff is the wait before the first retry of a schedule with
// retries and no retry_backoff; each further retry waits twice as long, at
// most MaxRetryBackoff.
const DefaultRetryBackoff = time.Minute

// MaxRetryBackoff bounds the wait between two attempts.
const MaxRetryBackoff = time.Hour

// DefaultCatchUpLimit is how many missed runs a schedule catches up at most
// (the most recent ones) when it sets catch_up and no catch_up_limit.
const DefaultCatchUpLimit = 10

// Config is one schedule of the YAML configuration (the `schedules:` list).
type Config struct {
	// Name identifies the schedule: lower-case letters, digits, '-' and '_'.
	Name string `yaml:"name" json:"name"`
	// Cron is a 5-field spec ("0 2 * * *"), a descriptor (@daily, @weekly,
	// @monthly, @hourly, @every 15m), optionally prefixed CRON_TZ=Zone.
	Cron string `yaml:"cron" json:"cron"`
	// Timezone (IANA, e.g. Europe/Berlin) of the cron spec, of the period
	// and of the times the xlsx shows (csv and json stay UTC); default
	// UTC. Wall-clock semantics: on a DST change day a time that does not
	// exist fires shifted by the gap (02:30 → 03:30), a time that occurs
	// twice fires once.
	Timezone string `yaml:"timezone" json:"timezone,omitempty"`
	// Report is the catalog name of the report (`privaudit report list`).
	Report string `yaml:"report" json:"report"`
	// Verify, instead of Report, runs a check over the period: "verdicts"
	// is `privaudit verify verdicts`, its result on /metrics.
	Verify string `yaml:"verify" json:"verify,omitempty"`
	// Params are the report's parameters.
	Params map[string]string `yaml:"params" json:"params,omitempty"`
	// Filters narrow the report's rows, name to value (`privaudit report
	// list` shows each report's filters).
	Filters map[string]string `yaml:"filters" json:"filters,omitempty"`
	// Period is previous_day, previous_week, previous_month or explicit.
	Period string `yaml:"period" json:"period"`
	// From and To are the explicit window (dates in UTC or RFC 3339).
	From string `yaml:"from" json:"from,omitempty"`
	To   string `yaml:"to" json:"to,omitempty"`
	// Formats are written by every run (xlsx, csv, json); default xlsx.
	Formats []string `yaml:"formats" json:"formats"`
	// OutputDir receives the files; relative paths are resolved against
	// the scheduler's output root (default: OUTPUT_ROOT/NAME).
	OutputDir string `yaml:"output_dir" json:"output_dir,omitempty"`
	// Filename is the file-name pattern (see DefaultFilename for tokens).
	Filename string `yaml:"filename" json:"filename,omitempty"`
	// Keep is how many successful runs' outputs are kept; older outputs
	// are deleted. 0 keeps everything.
	Keep int `yaml:"keep" json:"keep,omitempty"`
	// Retries is how many times a failed run is retried (0: none).
	Retries int `yaml:"retries" json:"retries,omitempty"`
	// RetryBackoff is the wait before the first retry, doubled for each
	// further one (default DefaultRetryBackoff).
	RetryBackoff time.Duration `yaml:"retry_backoff" json:"retry_backoff,omitempty"`
	// CatchUp runs, at start, the fires missed since the schedule's last
	// successful run while privaudit was down.
	CatchUp bool `yaml:"catch_up" json:"catch_up,omitempty"`
	// CatchUpLimit bounds the runs caught up (the most recent missed
	// fires; default DefaultCatchUpLimit).
	CatchUpLimit int `yaml:"catch_up_limit" json:"catch_up_limit,omitempty"`
	// Deliver lists where each successful run's files go (e-mail, webhook);
	// see Target.
	Deliver []Target `yaml:"deliver" json:"deliver,omitempty"`
}

var (
	nameRE    = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,63}$`)
	tokenRE   = regexp.MustCompile(`\{[^{}]*\}`)
	literalRE = regexp.MustCompile(`^[A-Za-z0-9._-]*$`)
	// cronParser reads 5-field specs and descriptors.
	cronParser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)
)

var filenameTokens = []string{"{schedule}", "{report}", "{from}", "{to}", "{fired}", "{run}", "{ext}"}

// compiled is a checked schedule: its parsed spec, zone and window.
type compiled struct {
	cfg      Config
	loc      *time.Location
	sched    cron.Schedule
	from, to time.Time // explicit window
	targets  []*target
}

// compile checks c's shape (not its report) and parses its spec.
func compile(c Config) (*compiled, error) {
	if !nameRE.MatchString(c.Name) {
		return nil, fmt.Errorf("schedule name %q: use lower-case letters, digits, '-' and '_' (at most 64)", c.Name)
	}
	var errs []error
	cc := &compiled{cfg: c}
	var err error
	if cc.loc, cc.sched, err = parseSpec(c.Cron, c.Timezone); err != nil {
		errs = append(errs, err)
	}
	if err := cc.checkPeriod(); err != nil {
		errs = append(errs, err)
	}
	if c.isVerify() {
		if err := c.checkVerify(); err != nil {
			errs = append(errs, err)
		}
	} else if len(c.Formats) == 0 {
		cc.cfg.Formats = []string{reports.DefaultFormat}
	}
	if err := checkFilename(cc.cfg.Filename, len(cc.cfg.Formats)); err != nil {
		errs = append(errs, err)
	}
	if err := c.checkNumbers(); err != nil {
		errs = append(errs, err)
	}
	if c.isVerify() && len(c.Deliver) > 0 {
		errs = append(errs, errors.New("deliver: a verify schedule writes no file to deliver; deliver is for report schedules"))
	} else if cc.targets, err = compileTargets(c.Deliver); err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("schedule %s: %w", c.Name, errors.Join(errs...))
	}
	if cc.cfg.Filename == "" {
		cc.cfg.Filename = DefaultFilename
	}
	cc.cfg.Filename = withRun(cc.cfg.Filename)
	if cc.cfg.Retries > 0 && cc.cfg.RetryBackoff == 0 {
		cc.cfg.RetryBackoff = DefaultRetryBackoff
	}
	if cc.cfg.CatchUpLimit == 0 {
		cc.cfg.CatchUpLimit = DefaultCatchUpLimit
	}
	return cc, nil
}

// parseSpec parses a cron spec in its time zone: the timezone field or a
// CRON_TZ=/TZ= prefix (both may be given if they agree); default UTC.
func parseSpec(spec, zone string) (*time.Location, cron.Schedule, error) {
	spec = strings.TrimSpace(spec)
	if spec == "" {
		return nil, nil, errors.New(`cron is required: 5 fields ("0 2 * * *") or a descriptor (@daily)`)
	}
	for _, p := range []string{"CRON_TZ=", "TZ="} {
		if !strings.HasPrefix(spec, p) {
			continue
		}
		z, rest, _ := strings.Cut(strings.TrimPrefix(spec, p), " ")
		if zone != "" && zone != z {
			return nil, nil, fmt.Errorf("cron %q: %s%s disagrees with timezone %q; give the zone once", spec, p, z, zone)
		}
		zone, spec = z, strings.TrimSpace(rest)
	}
	if zone == "" {
		zone = "UTC"
	}
	loc, err := time.LoadLocation(zone)
	if err != nil || zone == "Local" {
		return nil, nil, fmt.Errorf("timezone %q: not an IANA time zone (e.g. Europe/Berlin, America/New_York, UTC)", zone)
	}
	if d, ok := strings.CutPrefix(spec, "@every "); ok {
		if every, err := time.ParseDuration(strings.TrimSpace(d)); err == nil && (every < time.Second || every%time.Second != 0) {
			return nil, nil, fmt.Errorf("cron %q: @every needs whole seconds, at least 1s", spec)
		}
	}
	s, err := cronParser.Parse(spec)
	if err != nil {
		return nil, nil, fmt.Errorf("cron %q: %v; want 5 fields (minute hour day-of-month month day-of-week) or @daily, @weekly, @monthly, @hourly, @every 1h", spec, err)
	}
	if s, ok := s.(*cron.SpecSchedule); ok {
		s.Location = time.UTC // evaluated on wall-clock time, see wallSchedule
		return loc, wallSchedule{spec: s, loc: loc}, nil
	}
	return loc, s, nil // @every
}

// checkPeriod checks the period kind and the explicit window.
func (cc *compiled) checkPeriod() error {
	c := cc.cfg
	switch c.Period {
	case PreviousDay, PreviousWeek, PreviousMonth:
		if c.From != "" || c.To != "" {
			return fmt.Errorf("period %s takes no from/to (they are for period: explicit)", c.Period)
		}
		return nil
	case Explicit:
	default:
		return fmt.Errorf("period %q: want %s, %s, %s or %s (with from and to)", c.Period, PreviousDay, PreviousWeek, PreviousMonth, Explicit)
	}
	var err error
	if cc.from, err = reports.ParseTime(c.From); err != nil {
		return fmt.Errorf("from: %w", err)
	}
	if cc.to, err = reports.ParseTime(c.To); err != nil {
		return fmt.Errorf("to: %w", err)
	}
	if !cc.from.Before(cc.to) {
		return fmt.Errorf("from %s must be before to %s (the period is [from, to))", c.From, c.To)
	}
	if cc.from.Nanosecond() != 0 || cc.to.Nanosecond() != 0 {
		return errors.New("from and to must be whole seconds")
	}
	return nil
}

// checkFilename checks a file-name pattern: known tokens, safe literal
// text, and {ext} when several formats would otherwise share one name.
func checkFilename(p string, formats int) error {
	if p == "" {
		return nil
	}
	for _, tok := range tokenRE.FindAllString(p, -1) {
		if !slices.Contains(filenameTokens, tok) {
			return fmt.Errorf("filename %q: unknown token %s; use %s", p, tok, strings.Join(filenameTokens, " "))
		}
	}
	lit := tokenRE.ReplaceAllString(p, "")
	if !literalRE.MatchString(lit) || strings.HasPrefix(p, ".") {
		return fmt.Errorf("filename %q: only letters, digits, '.', '-', '_' and tokens; no folders (use output_dir) and no leading '.'", p)
	}
	if formats > 1 && !strings.Contains(p, "{ext}") {
		return fmt.Errorf("filename %q: several formats need {ext} in the name, or they overwrite each other", p)
	}
	return nil
}

// withRun makes a file-name pattern name each run's files apart: a pattern
// without {run} gets "_{run}" before its extension (".{ext}" or a literal
// one such as ".csv"), or at its end.
func withRun(p string) string {
	if strings.Contains(p, "{run}") {
		return p
	}
	if base, ok := strings.CutSuffix(p, ".{ext}"); ok {
		return base + "_{run}.{ext}"
	}
	if i := strings.LastIndex(p, "."); i > 0 && !strings.ContainsAny(p[i:], "{}") {
		return p[:i] + "_{run}" + p[i:]
	}
	return p + "_{run}"
}

func (c Config) checkNumbers() error {
	switch {
	case c.Keep < 0:
		return fmt.Errorf("keep %d: 0 (keep everything) or more", c.Keep)
	case c.Retries < 0 || c.Retries > 10:
		return fmt.Errorf("retries %d: between 0 and 10", c.Retries)
	case c.RetryBackoff < 0:
		return fmt.Errorf("retry_backoff %s: must not be negative", c.RetryBackoff)
	case c.CatchUpLimit < 0 || c.CatchUpLimit > 1000:
		return fmt.Errorf("catch_up_limit %d: between 1 and 1000 (0: default %d)", c.CatchUpLimit, DefaultCatchUpLimit)
	}
	return nil
}

// Validate checks every schedule: its name (unique), cron spec, time zone,
// period, file-name pattern and numbers, that its report is in the built-in
// catalog and its formats are built in, and — with the runner r — that its
// report exists in r's catalog and its parameters are accepted. Without r
// it needs no ClickHouse, so a configuration is checked before anything
// starts. The error names each faulty schedule and says what to fix.
func Validate(cfgs []Config, r *reports.Runner) error {
	_, err := compileAll(cfgs, r)
	return err
}

// compileAll validates cfgs and returns them compiled, in order.
func compileAll(cfgs []Config, r *reports.Runner) ([]*compiled, error) {
	var errs []error
	var out []*compiled
	seen := map[string]bool{}
	for _, c := range cfgs {
		cc, err := compile(c)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if seen[c.Name] {
			errs = append(errs, fmt.Errorf("schedule %s: defined twice; schedule names must be unique", c.Name))
			continue
		}
		seen[c.Name] = true
		if c.isVerify() {
			out = append(out, cc)
			continue
		}
		if r == nil {
			if err := cc.checkBuiltin(); err != nil {
				errs = append(errs, err)
				continue
			}
		} else {
			if err := cc.plan(r); err != nil {
				errs = append(errs, err)
				continue
			}
		}
		out = append(out, cc)
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("schedules: %w", errors.Join(errs...))
	}
	return out, nil
}

// plan checks the schedule against the runner: the report exists, the
// formats are rendered, and the runner accepts the parameters.
func (cc *compiled) plan(r *reports.Runner) error {
	c := cc.cfg
	if _, ok := r.Catalog().Lookup(c.Report); !ok {
		return fmt.Errorf("schedule %s: %s", c.Name, r.Catalog().Unknown(c.Report))
	}
	for _, f := range c.Formats {
		if !slices.Contains(r.FormatNames(), f) {
			return fmt.Errorf("schedule %s: unknown format %q; choose among %s", c.Name, f, strings.Join(r.FormatNames(), ", "))
		}
	}
	from, to := cc.period(time.Date(2026, 1, 15, 12, 0, 0, 0, time.UTC))
	_, err := r.Plan(reports.RunRequest{Report: c.Report, From: from, To: to, Params: c.Params, Filters: c.Filters,
		Format: c.Formats[0], Actor: actor(c.Name)})
	if err != nil {
		return fmt.Errorf("schedule %s: %w (report parameters go under the schedule's params:, filters under filters:)", c.Name, err)
	}
	return nil
}

// checkBuiltin checks the report and formats against the built-in catalog
// and renderers, which are static.
func (cc *compiled) checkBuiltin() error {
	c := cc.cfg
	cat := reports.Default()
	if _, ok := cat.Lookup(c.Report); !ok {
		return fmt.Errorf("schedule %s: %s", c.Name, cat.Unknown(c.Report))
	}
	formats := reports.Formats()
	for _, f := range c.Formats {
		if _, ok := formats[f]; !ok {
			names := slices.Sorted(maps.Keys(formats))
			return fmt.Errorf("schedule %s: unknown format %q; choose among %s", c.Name, f, strings.Join(names, ", "))
		}
	}
	return nil
}

// actor is the recorded actor of a schedule's runs.
func actor(name string) string { return "schedule:" + name }
