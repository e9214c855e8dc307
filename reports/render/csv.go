package render

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"fmt"
	"io"
)

// progressEvery is how often (in rows) the csv and json renderers call
// Input.Progress and check for cancellation.
const progressEvery = 100_000

// CSV returns the csv renderer: a header row and one row per detail row,
// RFC 4180 quoting with "\n" line ends, lists joined with ";", timestamps in
// TimeLayout, formula-leading text neutralised (see Cell). Its output is the canonical form DetailHasher
// digests, so the SHA-256 of the file equals Result.SHA256.
func CSV() Renderer { return csvRenderer{} }

type csvRenderer struct{}

// Format is "csv".
func (csvRenderer) Format() string { return "csv" }

// ContentType is the MIME type of a csv file.
func (csvRenderer) ContentType() string { return "text/csv; charset=utf-8" }

// IgnoresSummary reports that a csv carries no summary, so a runner
// need not compute one.
func (csvRenderer) IgnoresSummary() bool { return true }

// Render streams in.Rows as csv to w; the summary is not part of a csv.
func (csvRenderer) Render(ctx context.Context, w io.Writer, in Input) (Result, error) {
	cw := &countingWriter{w: w}
	h := sha256.New()
	bw := bufio.NewWriterSize(io.MultiWriter(cw, h), 64<<10)
	out := csv.NewWriter(bw)
	rec := make([]string, len(in.Columns))
	for i, c := range in.Columns {
		rec[i] = c.Name
	}
	if err := out.Write(rec); err != nil {
		return Result{}, fmt.Errorf("write csv header: %w", err)
	}
	var n int64
	for in.Rows.Next() {
		vals := in.Rows.Values()
		if len(vals) != len(in.Columns) {
			return Result{}, fmt.Errorf("csv row %d has %d values for %d columns", n+1, len(vals), len(in.Columns))
		}
		for i, c := range in.Columns {
			rec[i] = Cell(c.Kind, vals[i])
		}
		if err := out.Write(rec); err != nil {
			return Result{}, fmt.Errorf("write csv row %d: %w", n+1, err)
		}
		n++
		if n%progressEvery == 0 {
			if err := tick(ctx, in.Progress, n); err != nil {
				return Result{}, err
			}
		}
	}
	if err := in.Rows.Err(); err != nil {
		return Result{}, fmt.Errorf("read rows: %w", err)
	}
	out.Flush()
	if err := out.Error(); err != nil {
		return Result{}, fmt.Errorf("write csv: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return Result{}, fmt.Errorf("write csv: %w", err)
	}
	if in.Progress != nil {
		in.Progress(n)
	}
	return Result{Rows: n, Bytes: cw.n, SHA256: hex.EncodeToString(h.Sum(nil))}, nil
}

// tick reports progress and stops a cancelled rendering.
func tick(ctx context.Context, progress func(int64), n int64) error {
	if progress != nil {
		progress(n)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("rendering stopped after %d rows: %w", n, err)
	}
	return nil
}
