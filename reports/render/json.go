package render

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math"
	"strconv"
	"time"
	"unicode/utf8"
)

// JSON returns the json renderer: a JSON array with one object per detail
// row (one per line), keyed by column name; lists are arrays, timestamps
// RFC 3339 strings in TimeLayout (null when absent), numbers are numbers.
// Rows are streamed, never collected. Result.SHA256 is the digest of the
// canonical csv form (DetailHasher), the same as the csv and xlsx of the run.
func JSON() Renderer { return jsonRenderer{} }

type jsonRenderer struct{}

// Format is "json".
func (jsonRenderer) Format() string { return "json" }

// ContentType is the MIME type of a json file.
func (jsonRenderer) ContentType() string { return "application/json" }

// IgnoresSummary reports that a json carries no summary, so a runner
// need not compute one.
func (jsonRenderer) IgnoresSummary() bool { return true }

// Render streams in.Rows as a JSON array to w; the summary is not part of it.
func (jsonRenderer) Render(ctx context.Context, w io.Writer, in Input) (Result, error) {
	cw := &countingWriter{w: w}
	bw := bufio.NewWriterSize(cw, 64<<10)
	hasher := NewDetailHasher(in.Columns)
	keys := make([][]byte, len(in.Columns))
	for i, c := range in.Columns {
		keys[i] = append(appendJSONString(nil, c.Name), ':')
	}
	buf := []byte("[")
	var n int64
	for in.Rows.Next() {
		vals := in.Rows.Values()
		if len(vals) != len(in.Columns) {
			return Result{}, fmt.Errorf("json row %d has %d values for %d columns", n+1, len(vals), len(in.Columns))
		}
		hasher.Add(in.Columns, vals)
		if n > 0 {
			buf = append(buf, ',')
		}
		buf = append(buf, "\n{"...)
		for i := range in.Columns {
			if i > 0 {
				buf = append(buf, ',')
			}
			buf = append(buf, keys[i]...)
			buf = appendJSONValue(buf, vals[i])
		}
		buf = append(buf, '}')
		if _, err := bw.Write(buf); err != nil {
			return Result{}, fmt.Errorf("write json row %d: %w", n+1, err)
		}
		buf = buf[:0]
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
	buf = append(buf, "\n]\n"...)
	if _, err := bw.Write(buf); err != nil {
		return Result{}, fmt.Errorf("write json: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return Result{}, fmt.Errorf("write json: %w", err)
	}
	if in.Progress != nil {
		in.Progress(n)
	}
	return Result{Rows: n, Bytes: cw.n, SHA256: hasher.Sum()}, nil
}

// appendJSONValue appends v as a JSON value.
func appendJSONValue(b []byte, v any) []byte {
	switch x := v.(type) {
	case nil:
		return append(b, "null"...)
	case string:
		return appendJSONString(b, x)
	case []string:
		b = append(b, '[')
		for i, s := range x {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, s)
		}
		return append(b, ']')
	case time.Time:
		if x.IsZero() {
			return append(b, "null"...)
		}
		b = append(b, '"')
		b = x.UTC().AppendFormat(b, TimeLayout)
		return append(b, '"')
	case int64:
		return strconv.AppendInt(b, x, 10)
	case uint64:
		return strconv.AppendUint(b, x, 10)
	case int:
		return strconv.AppendInt(b, int64(x), 10)
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return append(b, "null"...)
		}
		return strconv.AppendFloat(b, x, 'f', -1, 64)
	case bool:
		return strconv.AppendBool(b, x)
	}
	return appendJSONString(b, fmt.Sprint(v))
}

const hexDigits = "0123456789abcdef"

// appendJSONString appends s as a JSON string; invalid UTF-8 becomes U+FFFD.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c == '\n':
				b = append(b, '\\', 'n')
			case c == '\r':
				b = append(b, '\\', 'r')
			case c == '\t':
				b = append(b, '\\', 't')
			case c < 0x20 || c == 0x7f:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, `\u202`...)
			b = append(b, hexDigits[r&0xf])
		default:
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return append(b, '"')
}
