package render

import (
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
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

// DetailHasher computes the SHA-256 of a report's detail data over its
// canonical form — the csv rendering (header and rows, RFC 4180, "\n" line
// ends) — so the xlsx, csv and json of one run carry the same digest, and an
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
		d.rec[i] = Text(cols[i].Kind, vals[i])
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
