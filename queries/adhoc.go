package queries

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"math"
	"math/big"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// RunnerOptions tune a Runner.
type RunnerOptions struct {
	// MaxRows caps the rows one query returns (default 100,000); a longer
	// result is cut there and marked Truncated.
	MaxRows int
	// Timeout bounds one run from start to Close, streaming included
	// (default 5 minutes). The server's own max_execution_time, fixed in the
	// reader's profile, usually stops a query first.
	Timeout time.Duration
	// QueryIDPrefix starts every ClickHouse query id (default
	// "privaudit-query-"), so system.processes shows which queries are ad hoc.
	QueryIDPrefix string
}

// Runner runs ad-hoc and saved queries through the read-only reader
// connection. It checks each statement first (one read statement), then lets
// ClickHouse enforce the rest: the reader user is readonly=1, sees only the
// officer database, and its limits live in its settings profile.
//
// The runner sends no settings at all with its queries: on ClickHouse 18.16 a
// readonly=1 user may not send any. In particular the driver's context never
// carries a deadline (clickhouse-go turns a deadline into a
// max_execution_time setting); the timeout cancels the query instead.
type Runner struct {
	conn driver.Conn
	o    RunnerOptions
}

// NewRunner returns a runner over conn, which must be opened with the reader
// user's credentials.
func NewRunner(conn driver.Conn, o RunnerOptions) *Runner {
	if o.MaxRows <= 0 {
		o.MaxRows = 100_000
	}
	if o.Timeout <= 0 {
		o.Timeout = 5 * time.Minute
	}
	if o.QueryIDPrefix == "" {
		o.QueryIDPrefix = "privaudit-query-"
	}
	return &Runner{conn: conn, o: o}
}

// MaxRows is the cap on rows returned by one query.
func (r *Runner) MaxRows() int { return r.o.MaxRows }

// Query is one statement to run.
type Query struct {
	// SQL is one read statement (see CheckStatement).
	SQL string
	// Args are bound by the driver, never spliced by privaudit:
	// clickhouse.Named values for @name placeholders (SavedQuery.Bind
	// returns them) or positional values for ?. String named values travel
	// as an external table, outside the query text (see ExternalArgs).
	Args []any
	// User is who runs it (the API token's name); ClickHouse sees it as the
	// quota key and in the client name of system.processes.
	User string
}

// ColumnInfo describes one result column.
type ColumnInfo struct {
	Name         string
	DatabaseType string // ClickHouse type, e.g. "Nullable(String)"
}

// Query checks and starts q and returns its streaming result, or a
// *QueryError when the statement is refused or fails before its first row.
// Close the result when done.
func (r *Runner) Query(ctx context.Context, q Query) (*Result, error) {
	stmt, err := CheckStatement(q.SQL)
	if err != nil {
		return nil, err
	}
	stmt, args, extArgs, err := ExternalArgs(stmt, q.Args)
	if err != nil {
		return nil, &QueryError{Kind: ErrInvalid, Message: err.Error(), Err: err}
	}
	if err := ctx.Err(); err != nil {
		return nil, translate(err, false, r.o.Timeout)
	}
	res := &Result{max: r.o.MaxRows, id: r.o.QueryIDPrefix + randomID()}
	// A fresh context: no deadline (it would become a setting) and no driver
	// options inherited from the caller's context.
	qctx, cancel := context.WithCancel(context.Background())
	stopParent := context.AfterFunc(ctx, cancel)
	timer := time.AfterFunc(r.o.Timeout, func() { res.timedOut.Store(true); cancel() })
	res.cancel = func() { cancel(); stopParent(); timer.Stop() }
	res.timeout = r.o.Timeout
	opts := []clickhouse.QueryOption{
		clickhouse.WithQueryID(res.id),
		clickhouse.WithQuotaKey(clientLabel(q.User)),
		clickhouse.WithClientInfo(clickhouse.ClientInfo{Comment: []string{"privaudit query by " + clientLabel(q.User)}}),
		clickhouse.WithSettings(clickhouse.Settings{}),
	}
	if extArgs != nil {
		opts = append(opts, extArgs)
	}
	qctx = clickhouse.Context(qctx, opts...)
	rows, err := r.conn.Query(qctx, stmt, args...)
	if err == io.EOF { // the server ended the stream without a block: no rows, no columns
		res.done = true
		res.cancel()
		return res, nil
	}
	if err != nil {
		res.cancel()
		return nil, translate(err, res.timedOut.Load(), r.o.Timeout)
	}
	res.rows = rows
	res.prepare()
	return res, nil
}

// CheckReader verifies, once at start, that the runner's connection really
// is a restricted reader: readonly=1 (so it can neither write nor change a
// setting) and no access to privaudit's bookkeeping database s.MetaDB. It
// refuses, for example, a connection opened with the administrator's
// credentials by mistake.
func (r *Runner) CheckReader(ctx context.Context, s Schema) error {
	if err := s.Validate(); err != nil {
		return err
	}
	const who = "privaudit-reader-check"
	res, err := r.Query(ctx, Query{SQL: "SELECT value FROM system.settings WHERE name = 'readonly'", User: who})
	if err != nil {
		return fmt.Errorf("check the query reader: %w", err)
	}
	readonly := ""
	if res.Next() {
		readonly, _ = res.Values()[0].(string)
	}
	res.Close()
	if err := res.Err(); err != nil {
		return fmt.Errorf("check the query reader: %w", err)
	}
	if readonly != "1" {
		return fmt.Errorf("the query reader's connection has readonly=%q, want 1: give ad-hoc SQL a ClickHouse user whose profile sets readonly=1 (see README, ad-hoc SQL)", readonly)
	}
	res, err = r.Query(ctx, Query{SQL: "SELECT count() FROM " + s.MetaDB + ".schema_migrations", User: who})
	if err == nil {
		res.Close()
		return fmt.Errorf("the query reader can read %s, privaudit's bookkeeping (token hashes): allow it only the %s database", s.MetaDB, s.DB)
	}
	if KindOf(err) != ErrRefused {
		return fmt.Errorf("check the query reader: %w", err)
	}
	return nil
}

// Result is a streaming query result, capped at the runner's MaxRows.
type Result struct {
	rows      driver.Rows
	id        string
	cols      []ColumnInfo
	dest      []any
	vals      []any
	max       int
	n         int64
	truncated bool
	done      bool
	err       error
	cancel    func()
	timedOut  atomic.Bool
	timeout   time.Duration
	closeOnce sync.Once
}

// prepare allocates one scan destination per column.
func (r *Result) prepare() {
	types := r.rows.ColumnTypes()
	r.cols = make([]ColumnInfo, len(types))
	r.dest = make([]any, len(types))
	r.vals = make([]any, len(types))
	for i, ct := range types {
		r.cols[i] = ColumnInfo{Name: ct.Name(), DatabaseType: ct.DatabaseTypeName()}
		if st := ct.ScanType(); st != nil {
			r.dest[i] = reflect.New(st).Interface()
		} else {
			r.dest[i] = new(any) // Nullable(Nothing): always NULL
		}
	}
}

// ID is the ClickHouse query id of the run.
func (r *Result) ID() string { return r.id }

// Columns describes the result columns.
func (r *Result) Columns() []ColumnInfo { return r.cols }

// Next advances to the next row. It returns false at the end, at the row
// cap (Truncated then reports true) or on an error (see Err).
func (r *Result) Next() bool {
	if r.done {
		return false
	}
	if !r.rows.Next() {
		r.done = true
		r.err = translate(r.rows.Err(), r.timedOut.Load(), r.timeout)
		return false
	}
	if r.n >= int64(r.max) {
		r.done, r.truncated = true, true
		return false
	}
	if err := r.rows.Scan(r.dest...); err != nil {
		r.done = true
		r.err = &QueryError{Kind: ErrInternal, Message: "read result row: " + err.Error(), Err: err}
		return false
	}
	for i, d := range r.dest {
		r.vals[i] = plainValue(reflect.ValueOf(d).Elem())
	}
	r.n++
	return true
}

// Values returns the current row: strings, int64 (uint64 beyond int64's
// range), float64, bool, time.Time (UTC), []string, other slices, or nil for
// NULL. The slice is reused by the next call to Next.
func (r *Result) Values() []any { return r.vals }

// Err is the error that ended the stream early, a *QueryError, or nil.
func (r *Result) Err() error { return r.err }

// Truncated reports whether rows beyond MaxRows were cut off.
func (r *Result) Truncated() bool { return r.truncated }

// Rows is the number of rows returned so far.
func (r *Result) Rows() int64 { return r.n }

// Close ends the query; a query not read to its end is cancelled on the
// server. Close is safe to call more than once.
func (r *Result) Close() error {
	r.closeOnce.Do(func() {
		if !r.done || r.truncated {
			r.cancel() // stop the server instead of draining the rest
		}
		if r.rows != nil {
			_ = r.rows.Close()
		}
		r.cancel()
		r.done = true
	})
	return nil
}

// plainValue dereferences a scanned value and converts driver types to
// plain Go values a renderer or encoder understands.
func plainValue(v reflect.Value) any {
	for v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface {
		if v.IsNil() {
			return nil
		}
		v = v.Elem()
	}
	switch x := v.Interface().(type) {
	case string, bool, []string:
		return x
	case time.Time:
		return x.UTC()
	case float64:
		return x
	case float32:
		return float64(x)
	case big.Int:
		return x.String()
	case fmt.Stringer: // UUID, Decimal, IP addresses
		return x.String()
	}
	switch v.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return v.Int()
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		if u := v.Uint(); u <= math.MaxInt64 {
			return int64(u)
		}
		return v.Uint()
	case reflect.Slice, reflect.Array:
		out := make([]any, v.Len())
		for i := range out {
			out[i] = plainValue(v.Index(i))
		}
		return out
	}
	return v.Interface()
}

// clientLabel makes a user name safe for ClickHouse's client info and quota
// key: printable ASCII, at most 64 bytes.
func clientLabel(user string) string {
	if user == "" {
		return "unknown"
	}
	b := []byte(user)
	if len(b) > 64 {
		b = b[:64]
	}
	for i, c := range b {
		if !isIdentChar(c) && !strings.ContainsRune(".-@", rune(c)) {
			b[i] = '_'
		}
	}
	return string(b)
}

func randomID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
