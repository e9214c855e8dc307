package schedule

import (
	"errors"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/privaudit/privaudit/audit/ingest/ingesttest"
)

func TestValidate(t *testing.T) {
	env := ingesttest.Start(t, ingesttest.Options{})
	r := newRunner(t, env, nil)
	with := func(name string, edit func(c *Config)) Config {
		c := cfg(name)
		edit(&c)
		return c
	}
	for _, c := range []struct {
		cfg  Config
		want string
	}{
		{with("bad-cron", func(c *Config) { c.Cron = "0 25 * * *" }), "schedule bad-cron: cron \"0 25 * * *\""},
		{with("bad-zone", func(c *Config) { c.Timezone = "Europe/Atlantis" }), "schedule bad-zone: timezone \"Europe/Atlantis\""},
		{with("no-report", func(c *Config) { c.Report = "disclosure" }), "schedule no-report: unknown report \"disclosure\" (did you mean disclosures?); the catalog has: access-review"},
		{with("no-param", func(c *Config) { c.Report = "subject-access" }), "schedule no-param: report subject-access needs parameter subject_id"},
		{with("bad-param", func(c *Config) { c.Params = map[string]string{"colour": "red"} }), "schedule bad-param: report disclosures has no parameter \"colour\""},
		{with("bad-value", func(c *Config) { c.Report, c.Params = "consents", map[string]string{"backdated_days": "many"} }), "schedule bad-value: report consents parameter backdated_days"},
		{with("bad-format", func(c *Config) { c.Formats = []string{"pdf"} }), "schedule bad-format: unknown format \"pdf\""},
		{with("bad-period", func(c *Config) { c.Period = "yesterday" }), "schedule bad-period: period \"yesterday\""},
		{with("no-window", func(c *Config) { c.Period = Explicit }), "schedule no-window: from:"},
		{with("backwards", func(c *Config) { c.Period, c.From, c.To = Explicit, "2026-10-02", "2026-10-01" }), "must be before to"},
		{with("stray-window", func(c *Config) { c.From = "2026-10-01" }), "takes no from/to"},
		{with("two-formats", func(c *Config) { c.Formats, c.Filename = []string{"csv", "xlsx"}, "{report}_{from}" }), "need {ext}"},
		{with("bad-token", func(c *Config) { c.Filename = "{report}_{day}.{ext}" }), "unknown token {day}"},
		{with("subdir", func(c *Config) { c.Filename = "../{report}.{ext}" }), "no folders"},
		{with("neg-keep", func(c *Config) { c.Keep = -1 }), "keep -1"},
		{with("many-retries", func(c *Config) { c.Retries = 99 }), "retries 99"},
		{with("Upper", func(c *Config) {}), "schedule name \"Upper\""},
	} {
		err := Validate([]Config{c.cfg}, r)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want it to contain %q", c.cfg.Name, err, c.want)
		}
	}
	if err := Validate([]Config{cfg("a"), cfg("a")}, r); err == nil || !strings.Contains(err.Error(), "schedule a: defined twice") {
		t.Errorf("duplicate names: %v", err)
	}
	// Every fault is reported at once, each with its schedule.
	err := Validate([]Config{with("one", func(c *Config) { c.Cron = "nope" }), cfg("fine"), with("two", func(c *Config) { c.Report = "x" })}, r)
	if err == nil || !strings.Contains(err.Error(), "schedule one:") || !strings.Contains(err.Error(), "schedule two:") || strings.Contains(err.Error(), "schedule fine") {
		t.Errorf("several faults: %v", err)
	}
	good := []Config{cfg("nightly"), with("sa", func(c *Config) {
		c.Report, c.Params, c.Period, c.From, c.To = "subject-access", map[string]string{"subject_id": "cust-1"}, Explicit, "2026-10-01", "2026-11-01"
		c.Formats, c.Timezone, c.Keep, c.Retries, c.RetryBackoff = []string{"xlsx", "csv", "json"}, "Europe/Berlin", 3, 2, time.Second
	})}
	if err := Validate(good, r); err != nil {
		t.Errorf("valid schedules: %v", err)
	}
	cc, err := compileAll(good, r)
	if err != nil || cc[0].cfg.Filename != DefaultFilename || cc[0].cfg.CatchUpLimit != DefaultCatchUpLimit || cc[1].cfg.RetryBackoff != time.Second {
		t.Errorf("defaults: %v %+v", err, cc)
	}
}

// readmeSchedules extracts the first ```yaml block of the README's
// "Scheduled reports" section.
func readmeSchedules(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(b), "## Scheduled reports\n")
	_, rest, ok2 := strings.Cut(section, "```yaml\n")
	block, _, ok3 := strings.Cut(rest, "```")
	if !ok || !ok2 || !ok3 {
		t.Fatal("README.md has no ```yaml block under ## Scheduled reports")
	}
	return block
}

// TestReadmeSnippet parses the exact YAML the README and the demo config
// ship, strictly, and checks it against the real report catalog.
func TestReadmeSnippet(t *testing.T) {
	var doc struct {
		Schedules []Config `yaml:"schedules"`
	}
	dec := yaml.NewDecoder(strings.NewReader(readmeSchedules(t)))
	dec.KnownFields(true)
	if err := dec.Decode(&doc); err != nil && !errors.Is(err, io.EOF) {
		t.Fatalf("README schedules: %v", err)
	}
	env := ingesttest.Start(t, ingesttest.Options{})
	if err := Validate(doc.Schedules, newRunner(t, env, nil)); err != nil {
		t.Fatalf("README schedules do not validate: %v", err)
	}
	cs, err := compileAll(doc.Schedules, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]struct {
		report, period, next string
		formats              int
	}{
		"nightly-disclosures":          {"disclosures", PreviousDay, "2026-10-01T06:00:00Z", 2},
		"nightly-violations":           {"violations", PreviousDay, "2026-10-01T06:00:00Z", 2},
		"weekly-recipients":            {"recipients", PreviousWeek, "2026-10-05T07:00:00Z", 1},
		"monthly-processing-inventory": {"processing-inventory", PreviousMonth, "2026-10-01T08:00:00Z", 2},
	}
	if len(cs) != len(want) {
		t.Fatalf("%d schedules, want %d", len(cs), len(want))
	}
	at := utc("2026-09-30T12:00:00Z") // a Wednesday
	for _, c := range cs {
		w, ok := want[c.cfg.Name]
		next := c.sched.Next(at).UTC()
		if !ok || c.cfg.Report != w.report || c.cfg.Period != w.period || len(c.cfg.Formats) != w.formats || !next.Equal(utc(w.next)) {
			t.Errorf("%s: report %s period %s formats %v next %s; want %+v", c.cfg.Name, c.cfg.Report, c.cfg.Period, c.cfg.Formats, next, w)
		}
		if !c.cfg.CatchUp || c.cfg.Keep == 0 || c.cfg.Retries == 0 {
			t.Errorf("%s: the demo set catches up, keeps a bounded history and retries", c.cfg.Name)
		}
	}
}
