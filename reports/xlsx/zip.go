package xlsx

import (
	"archive/zip"
	"io"

	"github.com/xuri/excelize/v2"
)

// writePackage writes the workbook's zip package straight to w and returns
// the bytes written. excelize's File.Write assembles the whole package in a
// bytes.Buffer before copying it out — for a million rows that buffer is
// the largest allocation of the run — so the zip writer excelize is given
// (File.SetZipWriter) ignores excelize's buffer and writes to w instead.
func writePackage(f *excelize.File, w io.Writer, level int) (int64, error) {
	cw := &countingWriter{w: w}
	f.SetZipWriter(func(io.Writer) excelize.ZipWriter {
		zw := zip.NewWriter(cw)
		zw.RegisterCompressor(zip.Deflate, func(out io.Writer) (io.WriteCloser, error) {
			return newDeflater(out, level)
		})
		return zw
	})
	var leak leakWriter
	if err := f.Write(&leak); err != nil {
		return cw.n, err
	}
	if leak.n > 0 {
		return cw.n, errNotStreamed
	}
	return cw.n, nil
}

// countingWriter counts the bytes written through it.
type countingWriter struct {
	w io.Writer
	n int64
}

// Write implements io.Writer.
func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// leakWriter receives excelize's own (expected empty) buffer.
type leakWriter struct{ n int64 }

// Write implements io.Writer.
func (l *leakWriter) Write(p []byte) (int, error) {
	l.n += int64(len(p))
	return len(p), nil
}
