package xlsx

import (
	"bytes"
	"compress/flate"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/xuri/excelize/v2"

	"github.com/privaudit/privaudit/reports/render"
)

// TestParallelDeflate round-trips data through the block-parallel
// compressor in uneven writes, and reports a failing destination.
func TestParallelDeflate(t *testing.T) {
	var data bytes.Buffer
	g := newGenRows(40000)
	for g.Next() {
		fmt.Fprintln(&data, g.Values()...)
	}
	if data.Len() < 3*deflateBlock {
		t.Fatalf("only %d bytes of input", data.Len())
	}
	for _, level := range []int{flate.BestSpeed, defaultLevel, flate.BestCompression} {
		var out bytes.Buffer
		w, err := newDeflaterN(&out, level, 3)
		if err != nil {
			t.Fatal(err)
		}
		for in, k := data.Bytes(), 1; len(in) > 0; k = k*7%100003 + 1 {
			n := min(k, len(in))
			if _, err := w.Write(in[:n]); err != nil {
				t.Fatal(err)
			}
			in = in[n:]
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(flate.NewReader(&out))
		if err != nil || !bytes.Equal(got, data.Bytes()) {
			t.Fatalf("level %d: inflated %d bytes (err %v), want the %d written", level, len(got), err, data.Len())
		}
	}
	w, err := newDeflaterN(failWriter{}, defaultLevel, 3)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = w.Write(data.Bytes())
	if err := w.Close(); !errors.Is(err, errBroken) {
		t.Fatalf("close after a failed write: %v", err)
	}
	if _, err := newDeflaterN(io.Discard, 12, 3); err == nil {
		t.Fatal("level 12 accepted")
	}
}

// failWriter fails every write.
type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errBroken }

// TestSpilledSheetsKeepEveryRow checks that a workbook whose detail sheets
// spilled to the StreamWriter's temporary files still holds every row.
func TestSpilledSheetsKeepEveryRow(t *testing.T) {
	in := render.Input{Meta: testMeta(), Columns: disclosureColumns, Rows: newGenRows(60_000)}
	r := New(WithMaxSheetRows(30_001))
	path := filepath.Join(t.TempDir(), "report.xlsx")
	out, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	if _, err := r.Render(context.Background(), out, in); err != nil {
		t.Fatal(err)
	}
	book, err := excelize.OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer book.Close()
	for _, sheet := range []string{"Detail", "Detail (2)"} {
		rows, err := book.Rows(sheet)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for rows.Next() {
			n++
		}
		if n != 30_001 {
			t.Fatalf("%s has %d rows, want 30,001", sheet, n)
		}
	}
}
