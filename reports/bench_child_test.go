package reports

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/privaudit/privaudit/audit/ingest/ingesttest"
	"github.com/privaudit/privaudit/audit/store"
	"github.com/privaudit/privaudit/queries"
	"github.com/privaudit/privaudit/reports/render"
)

// benchChildEnv carries a benchChildSpec (JSON) to TestBenchChild.
const benchChildEnv = "PRIVAUDIT_BENCH_CHILD"

// benchChildSpec is one case run by a child process: a privaudit report
// run in Format, or, with In set, the plain StreamWriter writing In's rows.
type benchChildSpec struct {
	Case      string `json:"case"`
	Format    string `json:"format,omitempty"`
	In        string `json:"in,omitempty"`
	Out       string `json:"out"`
	Addr      string `json:"addr,omitempty"`
	User      string `json:"user,omitempty"`
	Password  string `json:"password,omitempty"`
	BlockRows int    `json:"block_rows,omitempty"`
}

// runChild runs spec in a new process of this test binary and returns the
// figures it prints.
func runChild(b *testing.B, env *ingesttest.Env, spec benchChildSpec) benchResult {
	b.Helper()
	spec.Addr, spec.User, spec.Password = env.CH.Addr, env.CH.AdminUser, env.CH.AdminPassword
	spec.BlockRows, _ = strconv.Atoi(os.Getenv("PRIVAUDIT_BENCH_BLOCK_ROWS"))
	js, err := json.Marshal(spec)
	if err != nil {
		b.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestBenchChild$", "-test.v")
	cmd.Env = append(os.Environ(), benchChildEnv+"="+string(js))
	out, err := cmd.CombinedOutput()
	if err != nil {
		b.Fatalf("%s child: %v\n%s", spec.Case, err, out)
	}
	_, line, ok := bytes.Cut(out, []byte("RESULT "))
	line, _, _ = bytes.Cut(line, []byte("\n"))
	var res benchResult
	if !ok || json.Unmarshal(line, &res) != nil {
		b.Fatalf("%s child said:\n%s", spec.Case, out)
	}
	res.Case, res.Bytes = spec.Case, fileSize(spec.Out)
	return res
}

// TestBenchChild is the child of BenchmarkDisclosures: it runs one case
// and prints "RESULT " and its benchResult as JSON, peak RSS included. It
// is skipped in normal test runs.
func TestBenchChild(t *testing.T) {
	v := os.Getenv(benchChildEnv)
	if v == "" {
		t.Skip("only run by BenchmarkDisclosures")
	}
	var spec benchChildSpec
	if err := json.Unmarshal([]byte(v), &spec); err != nil {
		t.Fatalf("%s: %v", benchChildEnv, err)
	}
	stopProfiles := startProfiles(t, os.Getenv("PRIVAUDIT_BENCH_PROFILE"), spec.Case)
	var res benchResult
	var err error
	if spec.In != "" {
		res, err = benchPlain(spec.In, spec.Out)
	} else {
		res, err = benchReport(context.Background(), spec)
	}
	if err != nil {
		t.Fatal(err)
	}
	if res.PeakKB, err = vmHWM("/proc/self/status"); err != nil {
		t.Fatal(err)
	}
	if stopProfiles != nil {
		stopProfiles()
	}
	js, _ := json.Marshal(res)
	fmt.Printf("RESULT %s\n", js)
}

// benchReport runs the disclosures report in spec.Format to spec.Out the
// way `privaudit report run` does (the *os.File as the output); the time is
// that of Runner.Run, and RowsSeconds when the renderer reported the last
// row (its final Progress call).
func benchReport(ctx context.Context, spec benchChildSpec) (benchResult, error) {
	conn, err := store.Open(ctx, store.Options{Addrs: []string{spec.Addr}, User: spec.User, Password: spec.Password})
	if err != nil {
		return benchResult{}, err
	}
	defer conn.Close()
	r, err := NewRunner(Options{Conn: conn, Schema: queries.DefaultSchema, Recorder: (&recorder{}).record, BlockRows: spec.BlockRows})
	if err != nil {
		return benchResult{}, err
	}
	f, err := os.Create(spec.Out)
	if err != nil {
		return benchResult{}, err
	}
	start := time.Now()
	var rowsDone time.Duration
	out, err := r.Run(ctx, RunRequest{Report: "disclosures", From: octFrom, To: octTo, Format: spec.Format, Actor: "bench", Out: f,
		Progress: func(int64) { rowsDone = time.Since(start) }})
	if err == nil {
		err = f.Close()
	} else {
		_ = f.Close()
	}
	return benchResult{Rows: out.Rows, Seconds: time.Since(start).Seconds(), RowsSeconds: rowsDone.Seconds(), SHA256: out.SHA256}, err
}

// benchPlain writes the rows of the csv file in (header first, as the csv
// renderer writes the disclosures report) to out with a plain excelize
// StreamWriter: one SetRow per row, times as time.Time and integers as
// int64 like the renderer's cells, no styles, then File.SaveAs. Past
// Excel's row limit the rows continue on Sheet2, … under the header again,
// as the renderer's do. A first pass only reads and converts the rows, to
// show that share of the time (and warm the page cache); Seconds is the
// second pass, reading and writing.
func benchPlain(in, out string) (benchResult, error) {
	d, ok := Default().Lookup("disclosures")
	if !ok {
		return benchResult{}, errors.New("no disclosures report in the catalog")
	}
	start := time.Now()
	if _, err := readRows(in, d.Columns, func([]any) error { return nil }); err != nil {
		return benchResult{}, err
	}
	res := benchResult{ReadSeconds: time.Since(start).Seconds()}
	start = time.Now()
	w := &plainWriter{f: excelize.NewFile()}
	defer func() { _ = w.f.Close() }()
	var err error
	if res.Rows, err = readRows(in, d.Columns, w.add); err != nil {
		return res, err
	}
	if err := w.sw.Flush(); err != nil {
		return res, err
	}
	if err := w.f.SaveAs(out); err != nil {
		return res, err
	}
	res.Seconds = time.Since(start).Seconds()
	return res, nil
}

// plainWriter writes rows to a File's sheets with StreamWriters, the first
// row given as the header of each sheet.
type plainWriter struct {
	f      *excelize.File
	sw     *excelize.StreamWriter
	sheets int
	row    int
	header []any
}

// add writes one row; the first is the header.
func (w *plainWriter) add(vals []any) error {
	if w.header == nil {
		w.header = slices.Clone(vals)
	}
	if w.sw == nil || w.row == excelize.TotalRows {
		if err := w.nextSheet(); err != nil {
			return err
		}
	}
	w.row++
	cell, _ := excelize.CoordinatesToCellName(1, w.row)
	return w.sw.SetRow(cell, vals)
}

// nextSheet flushes the current sheet and starts the next, writing the
// header there unless it is the first (whose first row is the header).
func (w *plainWriter) nextSheet() error {
	if w.sw != nil {
		if err := w.sw.Flush(); err != nil {
			return err
		}
	}
	w.sheets++
	name := fmt.Sprintf("Sheet%d", w.sheets)
	if w.sheets > 1 {
		if _, err := w.f.NewSheet(name); err != nil {
			return err
		}
	}
	sw, err := w.f.NewStreamWriter(name)
	if err != nil {
		return err
	}
	w.sw, w.row = sw, 0
	if w.sheets > 1 {
		w.row = 1
		return sw.SetRow("A1", w.header)
	}
	return nil
}

// readRows streams the csv file path to fn, the header as strings and then
// each row with cols' Int columns as int64 and Time columns as time.Time;
// it returns the number of rows after the header. fn must not keep vals.
func readRows(path string, cols []render.Column, fn func(vals []any) error) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	r := csv.NewReader(bufio.NewReaderSize(f, 1<<20))
	r.ReuseRecord = true
	vals := make([]any, len(cols))
	var n int64
	for ; ; n++ {
		rec, err := r.Read()
		if err == io.EOF {
			return n - 1, nil
		}
		if err != nil {
			return n, err
		}
		if len(rec) != len(cols) {
			return n, fmt.Errorf("%s line %d: %d fields, want %d", path, n+1, len(rec), len(cols))
		}
		for i, s := range rec {
			if vals[i], err = cellValue(n == 0, cols[i].Kind, s); err != nil {
				return n, fmt.Errorf("%s line %d column %s: %w", path, n+1, cols[i].Name, err)
			}
		}
		if err := fn(vals); err != nil {
			return n, err
		}
	}
}

// cellValue converts a csv field to the value the renderer's cell holds.
func cellValue(header bool, k render.Kind, s string) (any, error) {
	switch {
	case header || s == "":
		return s, nil
	case k == render.Int:
		return strconv.ParseInt(s, 10, 64)
	case k == render.Time:
		return time.Parse(time.RFC3339Nano, s)
	}
	return s, nil
}

// vmHWM reads the peak resident set size (VmHWM, in KiB) from a
// /proc/PID/status file. Unlike getrusage's maxrss it does not carry over
// the parent's peak across fork and exec.
func vmHWM(status string) (int64, error) {
	b, err := os.ReadFile(status)
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			return strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
		}
	}
	return 0, fmt.Errorf("no VmHWM in %s", status)
}

// startProfiles, given a directory (PRIVAUDIT_BENCH_PROFILE), starts a
// CPU profile of the case; the function it returns stops it and writes the
// case's allocations (heap profile: see alloc_space) next to it. Given "",
// it returns nil.
func startProfiles(t *testing.T, dir, name string) func() {
	if dir == "" {
		return nil
	}
	base := filepath.Join(dir, strings.ReplaceAll(name, " ", "_"))
	create := func(path string) *os.File {
		f, err := os.Create(path)
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	cpu := create(base + ".cpu")
	if err := pprof.StartCPUProfile(cpu); err != nil {
		t.Fatal(err)
	}
	return func() {
		pprof.StopCPUProfile()
		heap := create(base + ".heap")
		err := errors.Join(pprof.WriteHeapProfile(heap), heap.Close(), cpu.Close())
		if err != nil {
			t.Fatal(err)
		}
	}
}

// loadAvg is the 1-, 5- and 15-minute load average, for the table.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	return strings.Join(f[:min(3, len(f))], " ")
}
