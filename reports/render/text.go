package render

import (
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
)

// TimeLayout is how csv and json write timestamps: RFC 3339 in UTC with
// milliseconds when present.
const TimeLayout = "2006-01-02T15:04:05.999Z07:00"

// Text formats one value as csv writes it: lists joined with ";", times in
// TimeLayout (UTC), numbers in their shortest exact form.
func Text(k Kind, v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case []string:
		return strings.Join(x, ";")
	case time.Time:
		if x.IsZero() {
			return ""
		}
		return x.UTC().Format(TimeLayout)
	case int64:
		return strconv.FormatInt(x, 10)
	case uint64:
		return strconv.FormatUint(x, 10)
	case int:
		return strconv.Itoa(x)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	}
	return fmt.Sprint(v)
}

// FormulaSafe returns text, the csv text of value v, with a leading ' when a
// spreadsheet would read it as a formula: it starts with =, +, -, @, tab or
// CR (CWE-1236, SPEC §4). A number (an integer, or a finite float) is a value,
// not a formula, and is left as it is, so a -5 stays a number.
func FormulaSafe(v any, text string) string {
	if text == "" || !strings.ContainsRune("=+-@\t\r", rune(text[0])) {
		return text
	}
	switch x := v.(type) {
	case int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64:
		return text
	case float32:
		if !math.IsNaN(float64(x)) && !math.IsInf(float64(x), 0) {
			return text
		}
	case float64:
		if !math.IsNaN(x) && !math.IsInf(x, 0) {
			return text
		}
	}
	return "'" + text
}

// Cell is one value as csv writes it: Text, made FormulaSafe.
func Cell(k Kind, v any) string { return FormulaSafe(v, Text(k, v)) }

// DetailHasher computes the SHA-256 of a report's detail data over its
// canonical form — the csv rendering (header and rows, RFC 4180, "\n" line
// ends, cells as Cell writes them) — so the xlsx, csv and json of one run carry the same digest, and an
// auditor can recompute it from the csv.
type DetailHasher struct {
	h   hash.Hash
	w   *csv.Writer
	rec []string
}

// NewDetailHasher starts a digest with the header row of cols.
func NewDetailHasher(cols []Column) *DetailHasher {
	d := &DetailHasher{h: sha256.New(), rec: make([]string, len(cols))}
	d.w = csv.NewWriter(d.h)
	for i, c := range cols {
		d.rec[i] = c.Name
	}
	_ = d.w.Write(d.rec)
	return d
}

// Add hashes one row.
func (d *DetailHasher) Add(cols []Column, vals []any) {
	for i := range d.rec {
		d.rec[i] = Cell(cols[i].Kind, vals[i])
	}
	_ = d.w.Write(d.rec)
}

// Sum returns the hex digest.
func (d *DetailHasher) Sum() string {
	d.w.Flush()
	return hex.EncodeToString(d.h.Sum(nil))
}

// countingWriter counts bytes written through it.
type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
