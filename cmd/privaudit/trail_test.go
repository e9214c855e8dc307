package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/privaudit/privaudit/reports/schedule"
)

// trailServer is serve with one monthly disclosures schedule (xlsx and csv)
// that never fires during a test.
func trailServer(t *testing.T) *officerServer {
	t.Helper()
	return startOfficerServerWith(t, func(c *Config) {
		c.Schedules = []schedule.Config{{Name: "monthly", Cron: "0 4 1 1 *", Report: "disclosures",
			Period: schedule.PreviousMonth, Formats: []string{"xlsx", "csv"}}}
	})
}

// cli runs a privaudit client command (m.report, m.schedule, m.runs,
// m.query) as officer who against o.
func (o *officerServer) cli(t *testing.T, who string, cmd func(*Main) func(context.Context, []string) error, args ...string) (string, string, error) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	m := &Main{Stdout: &stdout, Stderr: &stderr}
	args = append(args, "--server", o.srv.URL, "--token", o.token[who], "--data-dir", t.TempDir())
	err := cmd(m)(context.Background(), args)
	return stdout.String(), stderr.String(), err
}

func reportCmd(m *Main) func(context.Context, []string) error   { return m.report }
func scheduleCmd(m *Main) func(context.Context, []string) error { return m.schedule }
func runsCmd(m *Main) func(context.Context, []string) error     { return m.runs }
func queryCmd(m *Main) func(context.Context, []string) error    { return m.query }

// TestOfficerTrail: officer alice runs a report with the CLI, starts the
// schedule by hand, downloads its files with `runs get` (by name and with
// --latest) and runs an ad-hoc and a saved query; the officer-activity
// report lists each action under her name, and the run she started is not
// recorded under the schedule's name.
func TestOfficerTrail(t *testing.T) {
	o := trailServer(t)
	if _, _, err := o.cli(t, "alice", runsCmd, "get", "--latest", "monthly"); err == nil ||
		!strings.Contains(err.Error(), "no successful run yet") || !strings.Contains(err.Error(), "privaudit schedule run monthly") {
		t.Fatalf("runs get --latest before any run: %v", err)
	}
	dir := t.TempDir()
	if _, stderr, err := o.cli(t, "alice", reportCmd, "run", "disclosures", "--from", "2026-10-01", "--to", "2026-11-01",
		"--format", "csv", "--out", filepath.Join(dir, "d.csv")); err != nil {
		t.Fatalf("report run: %v\n%s", err, stderr)
	}
	out, _, err := o.cli(t, "alice", scheduleCmd, "run", "monthly")
	id := regexp.MustCompile(`run ([0-9a-f-]{36})`).FindStringSubmatch(out)
	if err != nil || id == nil || !strings.Contains(out, "by alice") {
		t.Fatalf("schedule run: %v\n%s", err, out)
	}
	csvName := regexp.MustCompile(`(disclosures_\S+\.csv)`).FindString(out)
	if _, stderr, err := o.cli(t, "alice", runsCmd, "get", id[1], csvName, "--out", filepath.Join(dir, "by-name.csv")); err != nil {
		t.Fatalf("runs get: %v\n%s", err, stderr)
	}
	latest := filepath.Join(dir, "latest")
	if err := os.Mkdir(latest, 0o750); err != nil {
		t.Fatal(err)
	}
	if _, stderr, err := o.cli(t, "alice", runsCmd, "get", "--latest", "monthly", "--out", latest); err != nil {
		t.Fatalf("runs get --latest: %v\n%s", err, stderr)
	}
	if got := dirNames(t, latest); len(got) != 2 || !slices.Contains(got, csvName) {
		t.Errorf("runs get --latest wrote %v, want the run's 2 files", got)
	}
	if _, stderr, err := o.cli(t, "alice", queryCmd, "SELECT 1"); err != nil {
		t.Fatalf("query: %v\n%s", err, stderr)
	}
	if _, stderr, err := o.cli(t, "alice", queryCmd, "--saved", "denied-accesses", "--param", "since=2026-10-01", "--param", "until=2026-11-01"); err != nil {
		t.Fatalf("saved query: %v\n%s", err, stderr)
	}
	count, body := officerActivity(t, o, "bob")
	for key, n := range map[string]int{
		"alice|report run|disclosures":           1,
		"alice|schedule run by hand|disclosures": 2, // one rendering per format
		"alice|run-file download|" + csvName:     2, // by name and with --latest
		"alice|ad-hoc query|":                    1,
		"alice|saved query|denied-accesses":      1,
	} {
		if count[key] != n {
			t.Errorf("officer-activity: %d rows %q, want %d; rows:\n%s", count[key], key, n, body)
		}
	}
	for key := range count {
		if strings.HasPrefix(key, "schedule:") {
			t.Errorf("officer-activity lists the schedule as an officer: %q", key)
		}
	}
	checkLatestChoices(t, o, csvName)
	q := `{"sql": "SELECT count() FROM privaudit.access_events FINAL WHERE actor_id = 'schedule:monthly'", "format": "csv"}`
	if _, body := o.read(t, "POST", "/v1/query", "bob", q); body != "count()\n0\n" {
		t.Errorf("the run alice started is recorded under the schedule's name: %q", body)
	}
}

// officerActivity runs officer-activity over yesterday to the day after
// tomorrow as who, and counts its rows by actor|activity|what.
func officerActivity(t *testing.T, o *officerServer, who string) (map[string]int, string) {
	t.Helper()
	from, to := time.Now().UTC().AddDate(0, 0, -1).Format(time.DateOnly), time.Now().UTC().AddDate(0, 0, 2).Format(time.DateOnly)
	resp, body := o.read(t, "GET", "/v1/reports/officer-activity?format=csv&from="+from+"&to="+to, who, "")
	if resp.StatusCode != 200 {
		t.Fatalf("officer-activity: %d %s", resp.StatusCode, body)
	}
	recs, err := csv.NewReader(strings.NewReader(body)).ReadAll()
	if err != nil || len(recs) < 2 {
		t.Fatalf("officer-activity csv (%v):\n%s", err, body)
	}
	count := map[string]int{}
	for _, rec := range recs[1:] {
		row := map[string]string{}
		for i, h := range recs[0] {
			row[h] = rec[i]
		}
		count[row["actor_id"]+"|"+row["activity"]+"|"+row["what"]]++
	}
	return count, body
}

// checkLatestChoices: `runs get --latest` picks one file with --format,
// and says what to do when the run has several files and --out is stdout
// or not a folder, or none of the format asked.
func checkLatestChoices(t *testing.T, o *officerServer, csvName string) {
	t.Helper()
	dest := filepath.Join(t.TempDir(), "latest.csv")
	if _, stderr, err := o.cli(t, "alice", runsCmd, "get", "--latest", "monthly", "--format", "csv", "--out", dest); err != nil ||
		!strings.Contains(stderr, "wrote "+dest) {
		t.Errorf("runs get --latest --format csv: %v\n%s", err, stderr)
	}
	for _, c := range []struct{ args, want []string }{
		{[]string{"--out", "-"}, []string{"2 files", "--format"}},
		{[]string{"--out", dest}, []string{"2 files", "existing folder", "--format"}},
		{[]string{"--format", "json"}, []string{"no json file", "xlsx, csv"}},
	} {
		_, _, err := o.cli(t, "alice", runsCmd, append([]string{"get", "--latest", "monthly"}, c.args...)...)
		for _, w := range c.want {
			if err == nil || !strings.Contains(err.Error(), w) {
				t.Errorf("runs get --latest monthly %v: %v, want it to say %q", c.args, err, w)
			}
		}
	}
	if _, _, err := o.cli(t, "alice", runsCmd, "get", "x", csvName, "--latest", "monthly"); err == nil || !strings.Contains(err.Error(), "not both") {
		t.Errorf("runs get RUN_ID FILE --latest: %v", err)
	}
}

// dirNames lists the names in dir.
func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		out = append(out, e.Name())
	}
	return out
}
