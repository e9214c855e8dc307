package reports

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/privaudit/privaudit/audit"
	"github.com/privaudit/privaudit/audit/client"
	"github.com/privaudit/privaudit/audit/ingest/ingesttest"
	"github.com/privaudit/privaudit/audit/synth"
	"github.com/privaudit/privaudit/queries"
)

// BenchmarkDisclosures measures the disclosures report over a generated
// data set, side by side with the two limits it is built on:
//
//   - clickhouse-client: `clickhouse-client --query '<the report's SQL>
//     FORMAT CSV'` to a file — how fast ClickHouse computes and ships the
//     rows (wall time, process start included; peak RSS sampled);
//   - privaudit csv: the report rendered as csv to a file;
//   - plain StreamWriter: excelize's StreamWriter writing exactly the
//     report's rows (read from a csv fetched beforehand, untimed, with
//     typed times and integers) with SetRow, no styles, and File.SaveAs —
//     the library's own cost;
//   - privaudit xlsx: the report rendered as xlsx to a file;
//   - summary SQL (client): the report's summary queries, which the xlsx
//     run runs alongside its detail query, with clickhouse-client one after
//     another — ClickHouse work on the same CPUs that the plain
//     StreamWriter does not have; shown, not compared.
//
// Each privaudit run and the plain StreamWriter run in a child process (this
// test binary, TestBenchChild) so that each peak RSS (VmHWM) is that run's
// own: the data set was ingested by this process and ClickHouse is another.
//
// PRIVAUDIT_BENCH_EVENTS lists the data set sizes in events (default
// 1000000; "100000,1000000" shows memory as rows grow 10×), each ingested
// through the HTTP intake into its own managed ClickHouse (customers a tenth
// of the events, at most 20,000). PRIVAUDIT_BENCH_BLOCK_ROWS sets
// Options.BlockRows; GOMEMLIMIT in the environment reaches the children;
// PRIVAUDIT_BENCH_PROFILE=DIR makes each child write its CPU and heap
// profiles there (CASE.cpu, CASE.heap: see -sample_index=alloc_space).
// One iteration runs every case once; the table goes to stdout and the log,
// the figures to ReportMetric. Run with
//
//	PRIVAUDIT_BENCH_EVENTS=100000,1000000 go test -run '^$' -bench Disclosures -benchtime 1x ./reports/
func BenchmarkDisclosures(b *testing.B) {
	for _, n := range benchEventCounts(b) {
		b.Run(fmt.Sprintf("events=%d", n), func(b *testing.B) {
			env, disclosures := benchEnv(b, n)
			load := loadAvg()
			var res []benchResult
			for b.Loop() {
				res = runBenchCases(b, env, b.TempDir())
			}
			for _, r := range res {
				if r.Case != caseSummary && r.Rows != int64(disclosures) {
					b.Errorf("%s: %d rows; the generator wrote %d disclosures", r.Case, r.Rows, disclosures)
				}
			}
			reportBench(b, n, load, res)
		})
	}
}

// benchEventCounts reads PRIVAUDIT_BENCH_EVENTS.
func benchEventCounts(b *testing.B) []int {
	v := os.Getenv("PRIVAUDIT_BENCH_EVENTS")
	if v == "" {
		return []int{1_000_000}
	}
	var out []int
	for _, s := range strings.Split(v, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n <= 0 {
			b.Fatalf("PRIVAUDIT_BENCH_EVENTS=%q: want event counts like 100000,1000000", v)
		}
		out = append(out, n)
	}
	return out
}

// benchEnv ingests a generated data set of n events (customers a tenth of
// that, at least 100, at most 20,000) through the HTTP intake and returns
// it with the number of disclosures the generator wrote.
func benchEnv(b *testing.B, n int) (*ingesttest.Env, int) {
	b.Helper()
	start := time.Now()
	env := ingesttest.Start(b, ingesttest.Options{})
	pr, pw := io.Pipe()
	cr, cw := io.Pipe()
	opts := synth.Options{Seed: 7, Customers: min(max(n/10, 100), 20000), Events: n, From: octFrom, To: octTo,
		Now: time.Date(2026, 11, 15, 0, 0, 0, 0, time.UTC)}
	stats := make(chan synth.Stats, 1)
	go func() {
		// Generate writes every consent before the first event: the first
		// event write ends the consent stream.
		st, err := synth.Generate(context.Background(), opts, &closeOnWrite{w: pw, c: cw}, cw)
		cw.CloseWithError(err)
		pw.CloseWithError(err)
		stats <- st
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
	st := <-stats
	b.Logf("%d events (%d disclosures, %d customers) generated and ingested in %s",
		st.Events, st.Disclosures, opts.Customers, time.Since(start).Round(time.Second))
	return env, st.Disclosures
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

// benchResult is one case's figures; children print it as JSON.
type benchResult struct {
	Case    string  `json:"case"`
	Rows    int64   `json:"rows"`
	Seconds float64 `json:"seconds"`
	PeakKB  int64   `json:"peak_kb"`
	Bytes   int64   `json:"bytes"`
	SHA256  string  `json:"sha256,omitempty"`
	// ReadSeconds is, for the plain StreamWriter, the time to only read
	// and convert its input csv (a separate pass, not part of Seconds's
	// writing but of its reading).
	ReadSeconds float64 `json:"read_seconds,omitempty"`
	// RowsSeconds is, for privaudit's runs, when the last row had been
	// rendered; the rest of Seconds is waiting for the summary and
	// finishing the file (for xlsx, deflating the sheets into the zip).
	RowsSeconds float64 `json:"rows_seconds,omitempty"`
	Note        string  `json:"-"`
}

// The benchmark's cases, in the order they run and are printed.
const (
	caseClient = "clickhouse-client CSV"
	caseCSV    = "privaudit csv"
	casePlain  = "plain StreamWriter"
	caseXLSX   = "privaudit xlsx"
	// caseSummary is informative: the summary queries alone.
	caseSummary = "summary SQL (client)"
)

// runBenchCases fetches the report's rows once into dir/rows.csv
// (untimed; it also warms ClickHouse's caches), then runs every case.
func runBenchCases(b *testing.B, env *ingesttest.Env, dir string) []benchResult {
	b.Helper()
	rowsCSV := filepath.Join(dir, "rows.csv")
	fetchRows(b, env, rowsCSV)
	res := []benchResult{
		runClient(b, env, clientSQL(b, env.Schema, ""), filepath.Join(dir, "client.csv")),
		runChild(b, env, benchChildSpec{Case: caseCSV, Format: "csv", Out: filepath.Join(dir, "privaudit.csv")}),
		runChild(b, env, benchChildSpec{Case: casePlain, In: rowsCSV, Out: filepath.Join(dir, "plain.xlsx")}),
		runChild(b, env, benchChildSpec{Case: caseXLSX, Format: "xlsx", Out: filepath.Join(dir, "privaudit.xlsx")}),
	}
	if res[1].SHA256 != res[3].SHA256 {
		b.Errorf("the csv and xlsx runs carry different digests: %s, %s", res[1].SHA256, res[3].SHA256)
	}
	return append(res, runSummaryClient(b, env, dir))
}

// fetchRows writes the report's rows as csv to path, in this process.
func fetchRows(b *testing.B, env *ingesttest.Env, path string) {
	b.Helper()
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	r, err := NewRunner(Options{Conn: env.Conn, Schema: env.Schema, Recorder: (&recorder{}).record, Logger: env.Log})
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	if _, err := r.Run(context.Background(), RunRequest{Report: "disclosures", From: octFrom, To: octTo,
		Format: "csv", Actor: "bench", Out: w}); err != nil {
		b.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
}

// clientSQL is the disclosures report's SQL (the detail query, or the
// summary query of section) with the period bound as literals:
// clickhouse-client 18.16 has no query parameters, and the runner binds
// these client-side too (clickhouse-go substitutes the values), so
// ClickHouse runs the same statement.
func clientSQL(b *testing.B, s queries.Schema, section string) string {
	b.Helper()
	sql, err := queries.ReportSection("disclosures", section, s)
	if err != nil {
		b.Fatal(err)
	}
	sql = strings.NewReplacer(
		"@from_s", strconv.FormatInt(octFrom.Unix(), 10), "@to_s", strconv.FormatInt(octTo.Unix(), 10),
		"@from_ns", strconv.FormatInt(octFrom.UnixNano(), 10), "@to_ns", strconv.FormatInt(octTo.UnixNano(), 10),
	).Replace(sql)
	if strings.Contains(sql, "@") {
		b.Fatalf("disclosures SQL has a parameter the benchmark does not bind:\n%s", sql)
	}
	return sql + "\nFORMAT CSV"
}

// runSummaryClient runs the disclosures report's summary queries one after
// another with clickhouse-client, as the xlsx renderer's run does alongside
// the detail query: their time is ClickHouse work the xlsx run shares the
// CPUs with and the plain StreamWriter does not.
func runSummaryClient(b *testing.B, env *ingesttest.Env, dir string) benchResult {
	b.Helper()
	d, _ := Default().Lookup("disclosures")
	res := benchResult{Case: caseSummary, Note: fmt.Sprintf("the %d summary queries of the xlsx run; not compared", len(d.Summary))}
	for _, sp := range d.Summary {
		r := runClient(b, env, clientSQL(b, env.Schema, sp.Section), filepath.Join(dir, "summary-"+sp.Section+".csv"))
		res.Rows += r.Rows
		res.Seconds += r.Seconds
		res.PeakKB = max(res.PeakKB, r.PeakKB)
		res.Bytes += r.Bytes
	}
	return res
}

// runClient runs sql with clickhouse-client, its output to path; its peak
// RSS is sampled from /proc every 10 ms (its rusage would include this
// process's, whose memory it shared until exec).
func runClient(b *testing.B, env *ingesttest.Env, sql, path string) benchResult {
	b.Helper()
	host, port, _ := strings.Cut(env.CH.Addr, ":")
	out, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	defer out.Close()
	var stderr bytes.Buffer
	cmd := exec.Command("clickhouse-client", "--host", host, "--port", port, "--user", env.CH.AdminUser,
		"--password", env.CH.AdminPassword, "--query", sql)
	cmd.Stdout, cmd.Stderr = out, &stderr
	start := time.Now()
	if err := cmd.Start(); err != nil {
		b.Fatalf("clickhouse-client: %v", err)
	}
	done := make(chan struct{})
	peak := make(chan int64, 1)
	go func() { peak <- sampleHWM(cmd.Process.Pid, done) }()
	err = cmd.Wait()
	secs := time.Since(start).Seconds()
	close(done)
	if err != nil {
		b.Fatalf("clickhouse-client: %v\n%s", err, stderr.Bytes())
	}
	return benchResult{Case: caseClient, Rows: countLines(b, path), Seconds: secs, PeakKB: <-peak,
		Bytes: fileSize(path), Note: "peak sampled"}
}

// sampleHWM polls the VmHWM of process pid until done is closed and
// returns the last value read, in KiB.
func sampleHWM(pid int, done <-chan struct{}) int64 {
	var last int64
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		if kb, err := vmHWM(fmt.Sprintf("/proc/%d/status", pid)); err == nil {
			last = kb
		}
		select {
		case <-done:
			return last
		case <-tick.C:
		}
	}
}

// countLines counts the lines of a file (csv rows: the report's texts hold
// no line breaks).
func countLines(b *testing.B, path string) int64 {
	b.Helper()
	f, err := os.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	var n int64
	buf := make([]byte, 1<<20)
	for {
		k, err := f.Read(buf)
		n += int64(bytes.Count(buf[:k], []byte{'\n'}))
		if err == io.EOF {
			return n
		}
		if err != nil {
			b.Fatal(err)
		}
	}
}

// fileSize is the size of path, or -1.
func fileSize(path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		return -1
	}
	return fi.Size()
}

// reportBench prints the figures as a table and reports them as metrics.
func reportBench(b *testing.B, events int, load string, res []benchResult) {
	b.Helper()
	by := map[string]benchResult{}
	for _, r := range res {
		by[r.Case] = r
	}
	plain, xlsx := by[casePlain], by[caseXLSX]
	var t strings.Builder
	fmt.Fprintf(&t, "disclosures over %d events (GOMAXPROCS %d, load average before the run %s):\n", events, runtime.GOMAXPROCS(0), load)
	fmt.Fprintf(&t, "%-22s %10s %9s %11s %13s %9s  %s\n", "case", "rows", "wall s", "rows/s", "peak RSS MiB", "file MiB", "vs plain")
	for _, r := range res {
		vs := ""
		if plain.Seconds > 0 && r.Case != casePlain && r.Case != caseSummary {
			vs = fmt.Sprintf("%.2f× time, %+.0f MiB", r.Seconds/plain.Seconds, float64(r.PeakKB-plain.PeakKB)/1024)
		}
		if r.RowsSeconds > 0 {
			vs += fmt.Sprintf("; last row at %.1f s", r.RowsSeconds)
		}
		if r.ReadSeconds > 0 {
			vs = fmt.Sprintf("of which reading its csv %.1f s", r.ReadSeconds)
		}
		if r.Note != "" {
			vs = strings.TrimPrefix(vs+"; "+r.Note, "; ")
		}
		fmt.Fprintf(&t, "%-22s %10d %9.2f %11.0f %13.1f %9.1f  %s\n", r.Case, r.Rows, r.Seconds,
			float64(r.Rows)/r.Seconds, float64(r.PeakKB)/1024, float64(r.Bytes)/(1<<20), vs)
	}
	fmt.Fprintf(&t, "targets: xlsx time ≤ 1.3× plain: %.2f×; xlsx peak ≤ plain + 50 MiB: %+.0f MiB\n",
		xlsx.Seconds/plain.Seconds, float64(xlsx.PeakKB-plain.PeakKB)/1024)
	fmt.Print(t.String())
	b.Log("\n" + t.String())
	metric := map[string]string{caseClient: "client", caseCSV: "csv", casePlain: "plain", caseXLSX: "xlsx", caseSummary: "summary"}
	for _, r := range res {
		b.ReportMetric(r.Seconds, metric[r.Case]+"-s")
		b.ReportMetric(float64(r.PeakKB)/1024, metric[r.Case]+"-peakMiB")
	}
	b.ReportMetric(float64(xlsx.Rows), "rows")
	b.ReportMetric(xlsx.Seconds/plain.Seconds, "xlsx/plain-time")
	b.ReportMetric(float64(xlsx.PeakKB-plain.PeakKB)/1024, "xlsx-plain-MiB")
}
