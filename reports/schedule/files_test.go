package schedule

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/privaudit/privaudit/reports/render"
)

// blockingCSV renders the real csv but stops halfway through writing it
// until released, or fails there.
type blockingCSV struct {
	mid, release chan struct{}
	fail         bool
}

func (b blockingCSV) Format() string       { return "csv" }
func (b blockingCSV) ContentType() string  { return "text/csv; charset=utf-8" }
func (b blockingCSV) IgnoresSummary() bool { return true }

func (b blockingCSV) Render(ctx context.Context, w io.Writer, in render.Input) (render.Result, error) {
	return render.CSV().Render(ctx, &halfWriter{w: w, b: b}, in)
}

// halfWriter writes half of the first write, then blocks or fails.
type halfWriter struct {
	w    io.Writer
	b    blockingCSV
	done bool
}

func (h *halfWriter) Write(p []byte) (int, error) {
	if h.done {
		return h.w.Write(p)
	}
	h.done = true
	n, err := h.w.Write(p[:len(p)/2])
	if err != nil {
		return n, err
	}
	close(h.b.mid)
	if h.b.fail {
		return n, errors.New("disk full")
	}
	<-h.b.release
	m, err := h.w.Write(p[len(p)/2:])
	return n + m, err
}

// TestAtomicWrite: while the real runner is halfway through a report, the
// target name does not exist — only a hidden temporary file does; it
// appears complete once done. A failure of any format leaves no file of
// the run at all.
func TestAtomicWrite(t *testing.T) {
	b := blockingCSV{mid: make(chan struct{}), release: make(chan struct{})}
	var once sync.Once
	release := func() { once.Do(func() { close(b.release) }) }
	t.Cleanup(release) // a failed check must not leave the run blocked
	c := cfg("atomic")
	c.Period, c.Filename = PreviousMonth, "{report}_{from}.{ext}"
	f := newFixture(t, nil, []Config{c}, nil, map[string]render.Renderer{"csv": b})
	ingestGolden(t, f.env)
	done := make(chan Run, 1)
	go func() {
		r, _ := f.s.RunNow(context.Background(), "atomic")
		done <- r
	}()
	select {
	case <-b.mid:
	case <-time.After(20 * time.Second):
		t.Fatalf("the renderer never started writing:\n%s", f.logs)
	}
	dir := filepath.Join(f.root, "atomic")
	names := dirFiles(t, dir)
	if len(names) != 1 || !strings.HasPrefix(names[0], ".disclosures_2026-10-01_") || !strings.HasSuffix(names[0], ".part") ||
		!partRE.MatchString(names[0]) {
		t.Fatalf("folder during the run: %v; want only the temporary file", names)
	}
	partial, _ := os.ReadFile(filepath.Join(dir, names[0]))
	if len(partial) == 0 {
		t.Errorf("the temporary file holds nothing: the renderer wrote half already")
	}
	release()
	r := <-done
	if len(r.Files) != 1 {
		t.Fatalf("after the run: %+v", r)
	}
	full, err := os.ReadFile(filepath.Join(dir, r.Files[0].Name))
	if r.Status != StatusSuccess || err != nil || len(full) <= len(partial) || strings.Count(string(full), "\n") != 32 {
		t.Fatalf("after the run: %+v %v %d bytes", r, err, len(full))
	}
	if names := dirFiles(t, dir); len(names) != 1 {
		t.Errorf("temporary files left: %v", names)
	}

	// json renders fine, then csv fails halfway: neither becomes visible.
	failing := blockingCSV{mid: make(chan struct{}), fail: true}
	c2 := cfg("failing")
	c2.Period, c2.Formats = PreviousMonth, []string{"json", "csv"}
	f2 := newFixture(t, f.env, []Config{c2}, nil, map[string]render.Renderer{"csv": failing, "json": render.JSON()})
	r, err = f2.s.RunNow(context.Background(), "failing")
	if err == nil || r.Status != StatusFailed || !strings.Contains(r.Error, "disk full") {
		t.Fatalf("failing run: %v %+v", err, r)
	}
	if names := dirFiles(t, filepath.Join(f2.root, "failing")); len(names) != 0 {
		t.Errorf("a failed run left files: %v", names)
	}
}

// TestRetention: a schedule keeps the files of its newest Keep successful
// runs, whatever its file-name pattern.
func TestRetention(t *testing.T) {
	kept := cfg("kept")
	kept.Keep, kept.Formats, kept.Filename = 2, []string{"csv", "json"}, "{report}_{from}.{ext}"
	same := cfg("same")
	same.Keep, same.Filename = 1, "{report}.{ext}"
	f := newFixture(t, nil, []Config{kept, same}, (&fakeRun{}).run, nil)
	day := utc("2026-11-01T02:00:00Z")
	var runs []Run
	for i := range 4 {
		f.clock.Set(day.AddDate(0, 0, i))
		r, err := f.s.RunNow(context.Background(), "kept")
		if err != nil {
			t.Fatal(err)
		}
		runs = append(runs, r)
		if _, err := f.s.RunNow(context.Background(), "same"); err != nil {
			t.Fatal(err)
		}
	}
	got := strings.Join(dirFiles(t, filepath.Join(f.root, "kept")), " ")
	r2, r3 := runs[2].ID[:8], runs[3].ID[:8]
	if want := "disclosures_2026-11-02_" + r2 + ".csv disclosures_2026-11-02_" + r2 + ".json disclosures_2026-11-03_" + r3 +
		".csv disclosures_2026-11-03_" + r3 + ".json"; got != want {
		t.Errorf("kept files %q, want %q", got, want)
	}
	for _, r := range runs[:2] {
		for _, file := range r.Files {
			if _, err := os.Stat(file.Path); !os.IsNotExist(err) {
				t.Errorf("old output %s not deleted: %v", file.Path, err)
			}
		}
	}
	if n := len(runsOf(t, f.s, "kept")); n != 4 {
		t.Errorf("history has %d runs, want all 4 (retention deletes files, not history)", n)
	}
	same1 := dirFiles(t, filepath.Join(f.root, "same"))
	if len(same1) != 1 || !strings.HasPrefix(same1[0], "disclosures_") {
		t.Fatalf("keep 1 with a pattern without period tokens: %v", same1)
	}
	b, err := os.ReadFile(filepath.Join(f.root, "same", same1[0]))
	if err != nil || !strings.Contains(string(b), "2026-11-03T00:00:00Z") {
		t.Errorf("the newest run's file: %v %q", err, b)
	}
	if !strings.Contains(f.logs.String(), "old outputs deleted") {
		t.Errorf("retention not logged:\n%s", f.logs)
	}
}
