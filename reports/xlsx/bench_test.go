package xlsx

import (
	"bufio"
	"bytes"
	"compress/flate"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/privaudit/privaudit/reports/render"
)

// The benchmark runs every case in a child process (this test binary
// re-executed with benchChildEnv set) so that each peak RSS (VmHWM, which
// is process-wide) belongs to that case alone.
const (
	benchChildEnv = "PRIVAUDIT_XLSX_BENCH_CHILD" // "writer:rows:dir" in the child
	benchRowsEnv  = "PRIVAUDIT_BENCH_ROWS"       // e.g. "100000,1000000"; default 100000
	benchCasesEnv = "PRIVAUDIT_BENCH_WRITERS"    // e.g. "plain,privaudit,privaudit-fast"
)

// benchWriters are the benchmarked ways to write the rows; the default run
// compares the plain StreamWriter with the renderer.
var benchWriters = map[string]func(path string, rows int) error{
	// plain: excelize's StreamWriter with no extras, saved with SaveAs.
	"plain": plainStreamWriter,
	// privaudit: the renderer, defaults, to an *os.File.
	"privaudit": func(path string, rows int) error { return renderTo(path, rows) },
	// privaudit-sheets: the renderer with 250,000 rows per detail sheet, to
	// show the cost of each further sheet.
	"privaudit-sheets": func(path string, rows int) error {
		return renderTo(path, rows, WithMaxSheetRows(250_000))
	},
	// privaudit-fast: the renderer with deflate level 1.
	"privaudit-fast": func(path string, rows int) error {
		return renderTo(path, rows, WithCompressionLevel(flate.BestSpeed))
	},
}

// benchResult is what a child reports.
type benchResult struct {
	Seconds float64 `json:"seconds"`
	PeakKB  int64   `json:"peak_kb"`
	Bytes   int64   `json:"bytes"`
}

func TestMain(m *testing.M) {
	if spec := os.Getenv(benchChildEnv); spec != "" {
		os.Exit(benchChild(spec))
	}
	os.Exit(m.Run())
}

// BenchmarkXLSX writes disclosures-like rows (18 columns: strings, lists,
// times, ints) to a file with each writer, reporting wall time, rows/s, peak
// RSS and file size per case. PRIVAUDIT_BENCH_ROWS=100000,1000000 adds the
// million-row case; PRIVAUDIT_BENCH_WRITERS picks writers; GOMEMLIMIT in the
// environment reaches the children.
func BenchmarkXLSX(b *testing.B) {
	rowsList := envList(benchRowsEnv, "100000")
	writers := envList(benchCasesEnv, "plain,privaudit")
	for _, rows := range rowsList {
		for _, w := range writers {
			if benchWriters[w] == nil {
				b.Fatalf("unknown writer %q in %s", w, benchCasesEnv)
			}
			b.Run(fmt.Sprintf("%s/rows=%s", w, rows), func(b *testing.B) {
				var res benchResult
				for range b.N {
					res = runBenchChild(b, w, rows)
				}
				n, _ := strconv.ParseFloat(rows, 64)
				b.ReportMetric(res.Seconds, "write-s")
				b.ReportMetric(n/res.Seconds, "rows/s")
				b.ReportMetric(float64(res.PeakKB)/1024, "peakRSS-MB")
				b.ReportMetric(float64(res.Bytes)/(1<<20), "file-MB")
			})
		}
	}
}

// envList splits a comma-separated environment variable.
func envList(name, def string) []string {
	v := os.Getenv(name)
	if v == "" {
		v = def
	}
	return strings.Split(v, ",")
}

// runBenchChild runs one case in a fresh process and returns its report.
func runBenchChild(b *testing.B, writer, rows string) benchResult {
	b.Helper()
	dir := b.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), benchChildEnv+"="+writer+":"+rows+":"+dir)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		b.Fatalf("bench child %s/%s: %v\n%s", writer, rows, err, errb.String())
	}
	var res benchResult
	if err := json.Unmarshal(lastLine(out.Bytes()), &res); err != nil {
		b.Fatalf("bench child %s/%s printed %q: %v", writer, rows, out.String(), err)
	}
	return res
}

// lastLine returns the last non-empty line of b.
func lastLine(b []byte) []byte {
	lines := bytes.Split(bytes.TrimSpace(b), []byte("\n"))
	return lines[len(lines)-1]
}

// benchChild runs one "writer:rows:dir" case and prints its benchResult.
func benchChild(spec string) int {
	parts := strings.SplitN(spec, ":", 3)
	rows, err := strconv.Atoi(parts[1])
	write := benchWriters[parts[0]]
	if len(parts) != 3 || err != nil || write == nil {
		fmt.Fprintf(os.Stderr, "bad %s %q\n", benchChildEnv, spec)
		return 2
	}
	path := filepath.Join(parts[2], "bench.xlsx")
	start := time.Now()
	if err := write(path, rows); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	res := benchResult{Seconds: time.Since(start).Seconds(), PeakKB: peakRSS()}
	if fi, err := os.Stat(path); err == nil {
		res.Bytes = fi.Size()
	}
	out, _ := json.Marshal(res)
	fmt.Println(string(out))
	return 0
}

// peakRSS reads the process's peak resident set size (VmHWM) in KiB.
func peakRSS() int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return -1
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb
		}
	}
	return -1
}

// renderTo renders rows generated rows with the renderer to path.
func renderTo(path string, rows int, opts ...Option) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	in := render.Input{Meta: testMeta(), Columns: disclosureColumns, Rows: newGenRows(rows)}
	if _, err := New(opts...).Render(context.Background(), f, in); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}

// plainStreamWriter writes the same rows with excelize's StreamWriter and
// nothing else — no styles, summary, about, hashing — and SaveAs: the
// library's own cost.
func plainStreamWriter(path string, rows int) error {
	f := excelize.NewFile()
	defer func() { _ = f.Close() }()
	sw, err := f.NewStreamWriter("Sheet1")
	if err != nil {
		return err
	}
	row := make([]any, len(disclosureColumns))
	for i, c := range disclosureColumns {
		row[i] = c.Name
	}
	if err := sw.SetRow("A1", row); err != nil {
		return err
	}
	g := newGenRows(rows)
	for r := 2; g.Next(); r++ {
		for i, v := range g.Values() {
			if l, ok := v.([]string); ok {
				v = strings.Join(l, ";")
			}
			row[i] = v
		}
		cell, _ := excelize.CoordinatesToCellName(1, r)
		if err := sw.SetRow(cell, row); err != nil {
			return err
		}
	}
	if err := sw.Flush(); err != nil {
		return err
	}
	return f.SaveAs(path)
}
