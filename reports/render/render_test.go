package render

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// sliceRows is an in-memory Rows for tests.
type sliceRows struct {
	rows [][]any
	i    int
	err  error
}

func (s *sliceRows) Next() bool    { s.i++; return s.i <= len(s.rows) }
func (s *sliceRows) Values() []any { return s.rows[s.i-1] }
func (s *sliceRows) Err() error    { return s.err }

var testCols = []Column{
	{Name: "id", Kind: String}, {Name: "at", Kind: Time}, {Name: "cats", Kind: List},
	{Name: "n", Kind: Int}, {Name: "pct", Kind: Float}, {Name: "flag", Kind: Bool},
}

func testRows() [][]any {
	t := time.Date(2026, 10, 1, 8, 30, 0, 123_000_000, time.UTC)
	return [][]any{
		{"plain", t, []string{"account_balance", "card_transactions"}, int64(3), 12.5, true},
		{"comma, \"quote\"\nnewline", time.Time{}, []string{}, int64(-1), 0.0, false},
		{"ctl\x01 bad\xff utf8 \u2028", t.In(time.FixedZone("X", 3600)), []string{"a;b"}, int64(1 << 53), 1e21, true},
	}
}

func render(t *testing.T, r Renderer, rows [][]any) ([]byte, Result) {
	t.Helper()
	var buf bytes.Buffer
	res, err := r.Render(context.Background(), &buf, Input{Columns: testCols, Rows: &sliceRows{rows: rows}})
	if err != nil {
		t.Fatalf("%s: %v", r.Format(), err)
	}
	if res.Bytes != int64(buf.Len()) || res.Rows != int64(len(rows)) {
		t.Fatalf("%s: result %+v for %d bytes, %d rows", r.Format(), res, buf.Len(), len(rows))
	}
	return buf.Bytes(), res
}

func digest(rows [][]any) string {
	h := NewDetailHasher(testCols)
	for _, r := range rows {
		h.Add(testCols, r)
	}
	return h.Sum()
}

func TestCSV(t *testing.T) {
	out, res := render(t, CSV(), testRows())
	recs, err := csv.NewReader(bytes.NewReader(out)).ReadAll()
	if err != nil {
		t.Fatalf("csv does not parse: %v\n%s", err, out)
	}
	want := [][]string{
		{"id", "at", "cats", "n", "pct", "flag"},
		{"plain", "2026-10-01T08:30:00.123Z", "account_balance;card_transactions", "3", "12.5", "true"},
		{"comma, \"quote\"\nnewline", "", "", "-1", "0", "false"},
		{"ctl\x01 bad\xff utf8 \u2028", "2026-10-01T08:30:00.123Z", "a;b", "9007199254740992", "1000000000000000000000", "true"},
	}
	if fmt.Sprint(recs) != fmt.Sprint(want) {
		t.Fatalf("csv records\n got %q\nwant %q", recs, want)
	}
	if !strings.Contains(string(out), "\"comma, \"\"quote\"\"\nnewline\"") {
		t.Errorf("RFC 4180 quoting missing:\n%s", out)
	}
	sum := sha256.Sum256(out)
	if res.SHA256 != hex.EncodeToString(sum[:]) || res.SHA256 != digest(testRows()) {
		t.Errorf("csv digest %s, file %x, DetailHasher %s: must all agree", res.SHA256, sum, digest(testRows()))
	}
}

func TestJSON(t *testing.T) {
	out, res := render(t, JSON(), testRows())
	var got []map[string]any
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("json does not parse: %v\n%s", err, out)
	}
	if len(got) != 3 {
		t.Fatalf("json has %d objects, want 3", len(got))
	}
	first := got[0]
	if first["at"] != "2026-10-01T08:30:00.123Z" || first["n"] != 3.0 || first["pct"] != 12.5 || first["flag"] != true {
		t.Errorf("first object %v", first)
	}
	if cats, ok := first["cats"].([]any); !ok || len(cats) != 2 || cats[1] != "card_transactions" {
		t.Errorf("lists must be arrays, got %#v", first["cats"])
	}
	if got[1]["at"] != nil || fmt.Sprint(got[1]["cats"]) != "[]" || got[1]["id"] != "comma, \"quote\"\nnewline" {
		t.Errorf("second object %v", got[1])
	}
	if got[2]["id"] != "ctl\x01 bad\ufffd utf8 \u2028" || got[2]["at"] != "2026-10-01T08:30:00.123Z" {
		t.Errorf("third object %q", got[2]["id"])
	}
	if res.SHA256 != digest(testRows()) {
		t.Errorf("json digest %s, want the csv digest %s", res.SHA256, digest(testRows()))
	}
	empty, res := render(t, JSON(), nil)
	if string(empty) != "[\n]\n" || res.Rows != 0 {
		t.Errorf("empty json %q", empty)
	}
}

// watchRows produces n rows and records how many bytes the destination had
// received when half of them were produced: a streaming renderer has
// written some by then.
type watchRows struct {
	n, i    int
	dst     *bytes.Buffer
	atHalf  int
	row     []any
	failAt  int
	failErr error
}

func (w *watchRows) Next() bool {
	w.i++
	if w.i == w.n/2 {
		w.atHalf = w.dst.Len()
	}
	if w.failAt > 0 && w.i == w.failAt {
		return false
	}
	return w.i <= w.n
}
func (w *watchRows) Values() []any {
	w.row[0] = fmt.Sprintf("row-%d", w.i)
	return w.row
}
func (w *watchRows) Err() error { return w.failErr }

func TestRenderersStream(t *testing.T) {
	for _, r := range []Renderer{CSV(), JSON()} {
		var dst bytes.Buffer
		rows := &watchRows{n: 300_000, dst: &dst, row: []any{"", time.Unix(0, 0), []string{"x"}, int64(1), 1.0, true}}
		var progress []int64
		res, err := r.Render(context.Background(), &dst, Input{Columns: testCols, Rows: rows,
			Progress: func(n int64) { progress = append(progress, n) }})
		if err != nil {
			t.Fatal(err)
		}
		if rows.atHalf < dst.Len()/4 {
			t.Errorf("%s: only %d of %d bytes written halfway through the rows: not streaming", r.Format(), rows.atHalf, dst.Len())
		}
		if res.Rows != 300_000 || fmt.Sprint(progress) != "[100000 200000 300000 300000]" {
			t.Errorf("%s: rows %d, progress %v", r.Format(), res.Rows, progress)
		}
	}
}

func TestRenderersFail(t *testing.T) {
	boom := errors.New("connection reset")
	for _, r := range []Renderer{CSV(), JSON()} {
		var dst bytes.Buffer
		rows := &watchRows{n: 10, dst: &dst, failAt: 5, failErr: boom, row: []any{"", time.Time{}, []string(nil), int64(0), 0.0, false}}
		if _, err := r.Render(context.Background(), &dst, Input{Columns: testCols, Rows: rows}); !errors.Is(err, boom) {
			t.Errorf("%s: error %v, want the rows' error", r.Format(), err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		rows = &watchRows{n: 200_000, dst: &dst, row: []any{"", time.Time{}, []string(nil), int64(0), 0.0, false}}
		if _, err := r.Render(ctx, &dst, Input{Columns: testCols, Rows: rows}); !errors.Is(err, context.Canceled) {
			t.Errorf("%s: cancelled rendering returned %v", r.Format(), err)
		}
		short := &sliceRows{rows: [][]any{{"only one"}}}
		if _, err := r.Render(context.Background(), &dst, Input{Columns: testCols, Rows: short}); err == nil {
			t.Errorf("%s: a row with too few values must fail", r.Format())
		}
	}
}
