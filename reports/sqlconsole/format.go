package sqlconsole

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"errors"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/privaudit/privaudit/queries"
	"github.com/privaudit/privaudit/reports/render"
)

// Response headers. The trailers are sent after the body, once the outcome
// of the streamed query is known.
const (
	HeaderQueryID   = "X-Privaudit-Query-Id"
	HeaderMaxRows   = "X-Privaudit-Max-Rows"
	HeaderRows      = "X-Privaudit-Rows"      // trailer (header for xlsx)
	HeaderTruncated = "X-Privaudit-Truncated" // trailer (header for xlsx): "true" when cut at the row cap
	HeaderError     = "X-Privaudit-Error"     // trailer: why the stream ended early
)

// flushEvery is how long streamed rows may wait in the buffer before they
// are flushed to the client.
const flushEvery = 100 * time.Millisecond

// streamEnd is how a streamed result ended.
type streamEnd struct {
	Rows      int64
	Truncated bool
	MaxRows   int
	Err       error
}

// rowWriter writes one text format.
type rowWriter interface {
	begin(cols []queries.ColumnInfo) error
	row(vals []any) error
	end(e streamEnd) error
}

var contentTypes = map[string]string{
	"json":   "application/json",
	"ndjson": "application/x-ndjson",
	"csv":    "text/csv; charset=utf-8",
	"table":  "text/plain; charset=utf-8",
}

func newRowWriter(format string, w *bufio.Writer) rowWriter {
	switch format {
	case "csv":
		return &csvWriter{w: csv.NewWriter(w)}
	case "ndjson":
		return &ndjsonWriter{w: w}
	case "table":
		return &tableWriter{w: w}
	}
	return &jsonWriter{w: w}
}

// streamText streams res to w in a text format, flushing at least every
// flushEvery. Once the 200 is sent, an error ending the stream early is
// reported in the format itself where it can be (json, ndjson, table) and
// in the X-Privaudit-Error trailer; it is also returned.
func (c *Console) streamText(w http.ResponseWriter, format string, res *queries.Result) error {
	h := w.Header()
	h.Set("Content-Type", contentTypes[format])
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set(HeaderQueryID, res.ID())
	h.Set(HeaderMaxRows, strconv.Itoa(c.o.Runner.MaxRows()))
	h.Set("Trailer", HeaderRows+", "+HeaderTruncated+", "+HeaderError)
	if format == "csv" {
		h.Set("Content-Disposition", `attachment; filename="privaudit-query.csv"`)
	}
	w.WriteHeader(http.StatusOK)
	bw := bufio.NewWriterSize(w, 32<<10)
	rc := http.NewResponseController(w)
	flush := func() error {
		if err := bw.Flush(); err != nil {
			return err
		}
		return rc.Flush()
	}
	rw := newRowWriter(format, bw)
	if err := rw.begin(res.Columns()); err != nil {
		return err
	}
	_ = flush()
	last := time.Now()
	for res.Next() {
		if err := rw.row(res.Values()); err != nil {
			return err
		}
		if time.Since(last) >= flushEvery {
			if err := flush(); err != nil {
				return err
			}
			last = time.Now()
		}
	}
	e := streamEnd{Rows: res.Rows(), Truncated: res.Truncated(), MaxRows: c.o.Runner.MaxRows(), Err: res.Err()}
	if err := rw.end(e); err != nil {
		return err
	}
	if err := flush(); err != nil {
		return err
	}
	h.Set(HeaderRows, strconv.FormatInt(e.Rows, 10))
	h.Set(HeaderTruncated, strconv.FormatBool(e.Truncated))
	if e.Err != nil {
		h.Set(HeaderError, strings.NewReplacer("\r", " ", "\n", " ").Replace(e.Err.Error()))
	}
	return e.Err
}

// CellText is a value as csv, the table and the web console show it.
func CellText(v any) string {
	switch x := v.(type) {
	case []any:
		b, _ := json.Marshal(jsonSafe(x))
		return string(b)
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	}
	return render.Text(render.String, v)
}

// jsonSafe replaces what encoding/json cannot encode (NaN, infinities) and
// formats times as csv does.
func jsonSafe(v any) any {
	switch x := v.(type) {
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return strconv.FormatFloat(x, 'g', -1, 64)
		}
	case time.Time:
		return x.UTC().Format(render.TimeLayout)
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = jsonSafe(e)
		}
		return out
	}
	return v
}

// csvWriter: a header row, then one record per row; lists joined with ";",
// formula-leading text neutralised (render.FormulaSafe).
type csvWriter struct {
	w   *csv.Writer
	rec []string
}

func (c *csvWriter) begin(cols []queries.ColumnInfo) error {
	c.rec = make([]string, len(cols))
	for i, col := range cols {
		c.rec[i] = col.Name
	}
	return c.write()
}

func (c *csvWriter) row(vals []any) error {
	for i, v := range vals {
		c.rec[i] = render.FormulaSafe(v, CellText(v))
	}
	return c.write()
}

func (c *csvWriter) write() error {
	if err := c.w.Write(c.rec); err != nil {
		return err
	}
	c.w.Flush() // into the bufio.Writer; the stream decides when to send
	return c.w.Error()
}

func (c *csvWriter) end(streamEnd) error { return nil }

// jsonWriter: one document, {"query_id", "columns", "rows": [[…], …],
// "rows_returned", "truncated", "max_rows", "error"?}, one row per line.
type jsonWriter struct {
	w    io.Writer
	n    int64
	buf  []byte
	rows []any
}

type jsonColumn struct {
	Name string `json:"name"`
	Type string `json:"type"`
}

func (j *jsonWriter) begin(cols []queries.ColumnInfo) error {
	jc := make([]jsonColumn, len(cols))
	for i, c := range cols {
		jc[i] = jsonColumn{c.Name, c.DatabaseType}
	}
	b, err := json.Marshal(jc)
	if err != nil {
		return err
	}
	_, err = io.WriteString(j.w, `{"columns":`+string(b)+`,`+"\n"+`"rows":[`)
	return err
}

func (j *jsonWriter) row(vals []any) error {
	j.buf = j.buf[:0]
	if j.n > 0 {
		j.buf = append(j.buf, ',')
	}
	j.buf = append(j.buf, '\n')
	j.rows = j.rows[:0]
	for _, v := range vals {
		j.rows = append(j.rows, jsonSafe(v))
	}
	b, err := json.Marshal(j.rows)
	if err != nil {
		return err
	}
	j.n++
	_, err = j.w.Write(append(j.buf, b...))
	return err
}

// jsonTail is what follows the rows of the json format.
type jsonTail struct {
	RowsReturned int64      `json:"rows_returned"`
	Truncated    bool       `json:"truncated"`
	MaxRows      int        `json:"max_rows"`
	Error        *jsonError `json:"error,omitempty"`
}

type jsonError struct {
	Kind    string `json:"kind"`
	Message string `json:"message"`
}

func newJSONError(err error) *jsonError {
	if err == nil {
		return nil
	}
	var qe *queries.QueryError
	kind := queries.ErrInternal.String()
	if errors.As(err, &qe) {
		kind = qe.Kind.String()
	}
	return &jsonError{Kind: kind, Message: err.Error()}
}

func (j *jsonWriter) end(e streamEnd) error {
	b, err := json.Marshal(jsonTail{RowsReturned: e.Rows, Truncated: e.Truncated, MaxRows: e.MaxRows, Error: newJSONError(e.Err)})
	if err != nil {
		return err
	}
	// Splice the tail's members into the open document: `],` + `"rows_returned":…}`.
	_, err = io.WriteString(j.w, "\n],\n"+string(b[1:])+"\n")
	return err
}

// ndjsonWriter: one object per row keyed by column name; an early end adds
// a last line {"error": {…}}.
type ndjsonWriter struct {
	w    io.Writer
	keys [][]byte
	buf  []byte
}

func (n *ndjsonWriter) begin(cols []queries.ColumnInfo) error {
	n.keys = make([][]byte, len(cols))
	for i, c := range cols {
		k, _ := json.Marshal(c.Name)
		n.keys[i] = append(k, ':')
	}
	return nil
}

func (n *ndjsonWriter) row(vals []any) error {
	n.buf = append(n.buf[:0], '{')
	for i, v := range vals {
		if i > 0 {
			n.buf = append(n.buf, ',')
		}
		n.buf = append(n.buf, n.keys[i]...)
		b, err := json.Marshal(jsonSafe(v))
		if err != nil {
			return err
		}
		n.buf = append(n.buf, b...)
	}
	n.buf = append(n.buf, '}', '\n')
	_, err := n.w.Write(n.buf)
	return err
}

func (n *ndjsonWriter) end(e streamEnd) error {
	if e.Err == nil {
		return nil
	}
	b, err := json.Marshal(map[string]any{"error": newJSONError(e.Err)})
	if err != nil {
		return err
	}
	_, err = n.w.Write(append(b, '\n'))
	return err
}
