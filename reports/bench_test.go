package reports

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/privaudit/privaudit/audit"
	"github.com/privaudit/privaudit/audit/client"
	"github.com/privaudit/privaudit/audit/ingest/ingesttest"
	"github.com/privaudit/privaudit/audit/store"
	"github.com/privaudit/privaudit/audit/synth"
	"github.com/privaudit/privaudit/queries"
)

// benchEnv ingests a generated data set of PRIVAUDIT_BENCH_EVENTS events
// (default 1,000,000; customers a tenth of that, at most 20,000) through the HTTP intake.
func benchEnv(b *testing.B) (*ingesttest.Env, int) {
	b.Helper()
	n := 1_000_000
	if v, err := strconv.Atoi(os.Getenv("PRIVAUDIT_BENCH_EVENTS")); err == nil && v > 0 {
		n = v
	}
	env := ingesttest.Start(b, ingesttest.Options{})
	pr, pw := io.Pipe()
	cr, cw := io.Pipe()
	opts := synth.Options{Seed: 7, Customers: min(max(n/10, 100), 20000), Events: n, From: octFrom, To: octTo,
		Now: time.Date(2026, 11, 15, 0, 0, 0, 0, time.UTC)}
	go func() {
		// Generate writes every consent before the first event: the first
		// event write ends the consent stream.
		_, err := synth.Generate(context.Background(), opts, &closeOnWrite{w: pw, c: cw}, cw)
		cw.CloseWithError(err)
		pw.CloseWithError(err)
	}()
	s := client.New(client.Options{Server: env.Server.URL, Token: env.Token["ingest"], Parallel: 4})
	ctx := context.Background()
	if err := s.Send(ctx, audit.KindConsents, "consents", cr); err != nil {
		b.Fatal(err, s.Summary().Problems[:min(3, len(s.Summary().Problems))])
	}
	if err := s.Send(ctx, audit.KindEvents, "events", pr); err != nil {
		b.Fatal(err)
	}
	env.WaitStored(b)
	return env, n
}

// closeOnWrite closes c before the first write to w.
type closeOnWrite struct {
	w    io.Writer
	c    io.Closer
	done bool
}

func (o *closeOnWrite) Write(p []byte) (int, error) {
	if !o.done {
		o.done = true
		_ = o.c.Close()
	}
	return o.w.Write(p)
}

// BenchmarkDisclosures runs the disclosures report over the generated
// period in each format to io.Discard, each run in a child process so that
// its peak RSS is the report's own (the data set was ingested by this
// process; ClickHouse is another). It reports rows/s and the child's peak
// RSS. PRIVAUDIT_BENCH_BLOCK_ROWS sets Options.BlockRows.
func BenchmarkDisclosures(b *testing.B) {
	env, n := benchEnv(b)
	b.Logf("%d events ingested", n)
	for _, format := range []string{"csv", "json", "xlsx"} {
		b.Run(format, func(b *testing.B) {
			var rows, rss int64
			var secs float64
			for b.Loop() {
				r, s, m := runChild(b, env, format)
				rows, secs, rss = rows+r, secs+s, max(rss, m)
			}
			b.ReportMetric(float64(rows)/secs, "rows/s")
			b.ReportMetric(float64(rss)/(1<<20), "peak-RSS-MiB")
		})
	}
}

// runChild runs TestBenchChild in a new process of this test binary.
func runChild(b *testing.B, env *ingesttest.Env, format string) (rows int64, secs float64, rss int64) {
	b.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestBenchChild$", "-test.v")
	cmd.Env = append(os.Environ(), "PRIVAUDIT_BENCH_CHILD="+strings.Join([]string{env.CH.Addr, env.CH.AdminUser, env.CH.AdminPassword, format}, " "))
	out, err := cmd.CombinedOutput()
	if err != nil {
		b.Fatalf("child: %v\n%s", err, out)
	}
	i := strings.Index(string(out), "RESULT ")
	if i < 0 {
		b.Fatalf("child said:\n%s", out)
	}
	if _, err := fmt.Sscanf(string(out[i:]), "RESULT %d %g %d", &rows, &secs, &rss); err != nil {
		b.Fatal(err)
	}
	return rows, secs, rss
}

// TestBenchChild is the child of BenchmarkDisclosures: it runs one report
// against the benchmark's ClickHouse and prints rows, seconds and its peak
// RSS.
func TestBenchChild(t *testing.T) {
	f := strings.Fields(os.Getenv("PRIVAUDIT_BENCH_CHILD"))
	if len(f) != 4 {
		t.Skip("only run by BenchmarkDisclosures")
	}
	ctx := context.Background()
	conn, err := store.Open(ctx, store.Options{Addrs: []string{f[0]}, User: f[1], Password: f[2]})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	blockRows, _ := strconv.Atoi(os.Getenv("PRIVAUDIT_BENCH_BLOCK_ROWS"))
	r, err := NewRunner(Options{Conn: conn, Schema: queries.DefaultSchema, Recorder: (&recorder{}).record, BlockRows: blockRows})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	res, err := r.Run(ctx, RunRequest{Report: "disclosures", From: octFrom, To: octTo, Format: f[3], Actor: "bench", Out: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	fmt.Printf("RESULT %d %g %d\n", res.Rows, time.Since(start).Seconds(), peakRSS(t))
}

// peakRSS is this process's peak resident set size (VmHWM; unlike
// getrusage's maxrss it is not inherited from the parent across exec).
func peakRSS(t *testing.T) int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb * 1024
		}
	}
	t.Fatal("no VmHWM in /proc/self/status")
	return 0
}
