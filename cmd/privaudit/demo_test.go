package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestDemoSmall runs the whole demo on a small data set: serve on the
// embedded default, generate, ingest over HTTP, count in ClickHouse, and
// write the nightly report set.
func TestDemoSmall(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	dir := t.TempDir()
	var out bytes.Buffer
	err := run(context.Background(), []string{"demo", "--data-dir", dir, "--customers", "300", "--events", "4000", "--log-level", "warn"}, &out, io.Discard)
	if err != nil {
		t.Fatalf("demo: %v\n%s", err, out.String())
	}
	if testing.Verbose() {
		t.Log(out.String())
	}
	for _, re := range []string{
		`stored in ClickHouse: 4000 access events, \d+ consent events`,
		`violations\s+xlsx\s+\d+ rows`,
		`Violations [1-9]`,
		`ran monthly-processing-inventory now: success`,
		`shares-after-withdrawal --param recipient=adreach-network: [1-9]\d* disclosures \([1-9]\d* never consented`,
		`violations\s+[1-9]\d* rows\s+ad-network_violations.xlsx`,
		`subject-access-customer\s+[1-9]\d* rows\s+customer-\S+\.html`,
		`officer-activity\s+[4-9] rows`,
		`privaudit verify: clean — \d+ stored records recomputed, the tree of \d+ leaves matches checkpoint \d+ signed by privaudit`,
		`privaudit verify-proof proof-\S+\.json --key privaudit\+\S+: the share is leaf \d+ of the \d+ signed, checked offline`,
		`the officers' console: http://127\.0\.0\.1:\d+/console/ — sign in with the officer token\s+pa_\S+`,
		`not a terminal: the demo stops here`,
	} {
		if !regexp.MustCompile(re).MatchString(out.String()) {
			t.Errorf("demo output lacks %q:\n%s", re, out.String())
		}
	}
	for _, name := range []string{"disclosures_*.xlsx", "disclosures_*.csv", "violations_*.xlsx", "recipients_*.xlsx",
		"consents_*.xlsx", "processing-inventory_*.xlsx", "access-review_*.xlsx"} {
		m, _ := filepath.Glob(filepath.Join(dir, "reports", name))
		if len(m) != 1 {
			t.Errorf("report %s: %d files", name, len(m))
			continue
		}
		if fi, err := os.Stat(m[0]); err != nil || fi.Size() == 0 {
			t.Errorf("report %s is empty: %v", m[0], err)
		}
	}
}

// TestDemoSchedulesMatchReadme keeps the demo's embedded schedule set and the
// README's "Scheduled reports" block identical.
func TestDemoSchedulesMatchReadme(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, _ := strings.Cut(string(b), "## Scheduled reports\n")
	_, rest, _ := strings.Cut(section, "```yaml\n")
	block, _, ok := strings.Cut(rest, "```")
	if !ok {
		t.Fatal("README has no schedules block")
	}
	_, embedded, _ := strings.Cut(string(demoSchedules), "\n") // drop the comment line
	if embedded != block {
		t.Fatalf("demo-schedules.yaml differs from the README block")
	}
}

// TestBenchSmall runs the ingest benchmark on a few events: every path
// stores every event, the sealed privaudit phase leaves one proof-log leaf
// per event and the unsealed one none, in both orders, and the figures,
// the sealing cost among them, are printed.
func TestBenchSmall(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	var out bytes.Buffer
	// The measured server runs as a process of its own: this test binary
	// is not privaudit, so the bench is given a built one.
	err := run(context.Background(), []string{"bench", "--data-dir", t.TempDir(), "--events", "20000", "--rounds", "2", "--log-level", "warn",
		"--server-binary", buildBinary(t)}, &out, io.Discard)
	if err != nil {
		t.Fatalf("bench: %v\n%s", err, out.String())
	}
	for _, re := range []string{
		`20000 events per path and round, 2 rounds`,
		`direct, one INSERT … FORMAT JSONEachRow\s+:\s+\d+ events/s`,
		`direct, 100k-row INSERTs, 2 at a time\s+:\s+\d+ events/s`,
		`privaudit HTTP→spool \(fsync\)→ClickHouse\s+:\s+\d+ events/s .* CPU/event \d+\.\d\d µs ClickHouse \+ \d+\.\d\d µs privaudit server \+ \d+\.\d\d µs sender`,
		`ratio privaudit / one INSERT\s+: \d+\.\d\d× \(rounds: \d+\.\d\d \d+\.\d\d\); merges settled \d+\.\d\d×`,
		`ratio privaudit / parallel INSERTs\s+: \d+\.\d\d× \(rounds: \d+\.\d\d \d+\.\d\d\); merges settled \d+\.\d\d×`,
		`privaudit, the same with sealing off\s+:\s+\d+ events/s .* CPU/event \d+\.\d\d µs ClickHouse \+ \d+\.\d\d µs privaudit server`,
		`sealing cost, 1 − sealed/unsealed events/s\s*: -?\d+\.\d% \(rounds: -?\d+\.\d% -?\d+\.\d%\); ≤ 10%: (met|NOT MET); ` +
			`privaudit server CPU/event \d+\.\d\d µs sealed, \d+\.\d\d µs unsealed\n` +
			`\s+the same from CPU/event, ClickHouse\+server\s*: -?\d+\.\d% \(rounds: -?\d+\.\d% -?\d+\.\d%\)`,
		// Round 1 seals before the unsealed phase, round 2 after it: each sealed
		// phase ends with a leaf per event, each unsealed one with none.
		`proof-log leaves added, sealed/unsealed\s*: 20000/0 20000/0 \(.*each phase starts from an empty proof log\)`,
	} {
		if !regexp.MustCompile(re).MatchString(out.String()) {
			t.Errorf("bench output lacks %q:\n%s", re, out.String())
		}
	}
}

// TestBenchKeepTree: with --keep-tree the proof log outlives the rounds, so
// round 2's sealed phase (which runs after its unsealed one) appends to
// round 1's leaves, and each phase is still checked by the leaves it added.
func TestBenchKeepTree(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	var out bytes.Buffer
	err := run(context.Background(), []string{"bench", "--data-dir", t.TempDir(), "--events", "5000", "--rounds", "2", "--keep-tree",
		"--log-level", "warn", "--server-binary", buildBinary(t)}, &out, io.Discard)
	if err != nil {
		t.Fatalf("bench: %v\n%s", err, out.String())
	}
	re := `proof-log leaves added, sealed/unsealed\s*: 5000/0 5000/0 \(.*the last sealed phase started with 5000 leaves\)`
	if !regexp.MustCompile(re).MatchString(out.String()) {
		t.Errorf("bench output lacks %q:\n%s", re, out.String())
	}
}

// TestDemoConsoleServesOnTerminal: on a terminal the demo ends by printing
// the console's address and token and keeps serving until interrupted;
// elsewhere it prints them and returns.
func TestDemoConsoleServesOnTerminal(t *testing.T) {
	var out bytes.Buffer
	m := &Main{Stdout: &out, Stderr: io.Discard}
	if err := m.demoConsole(context.Background(), "http://127.0.0.1:1", "pa_officer"); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "http://127.0.0.1:1/console/") || !strings.Contains(out.String(), "pa_officer") {
		t.Errorf("not a terminal: %q, want the console's address and the token", out.String())
	}
	tty, ptm := openPTYPair(t)
	m = &Main{Stdout: tty, Stderr: io.Discard}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.demoConsole(ctx, "http://127.0.0.1:1", "pa_officer") }()
	var seen bytes.Buffer
	buf := make([]byte, 4096)
	for !strings.Contains(seen.String(), "serving until Ctrl-C") {
		n, err := ptm.Read(buf)
		if err != nil {
			t.Fatalf("read the terminal: %v (so far %q)", err, seen.String())
		}
		seen.Write(buf[:n])
	}
	select {
	case err := <-done:
		t.Fatalf("the demo stopped serving on a terminal by itself: %v", err)
	default:
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
