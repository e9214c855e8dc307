package reportsbench

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// Figure is one measured step: its wall time, the rows it produced, and
// what ClickHouse spent on it according to system.query_log — the rows
// read by all of its queries, the highest peak memory and the longest
// duration of any one.
type Figure struct {
	Name    string
	Rows    int64
	Seconds float64
	// ServerSeconds is the longest query_duration_ms of the step's
	// queries: ClickHouse's own time, which ends when the client has
	// taken the last block.
	ServerSeconds float64
	ReadRows      uint64
	PeakBytes     int64
	// PeakPairBytes adds up the two highest peaks: the bound on the step's
	// peak when it ran several queries, as at most two of them overlap (an
	// xlsx report runs its summary queries one after another beside its
	// detail query).
	PeakPairBytes int64
	Queries       int
	// Err is why the step failed; its other figures are then partial.
	Err string
}

// clientMarker names the benchmark's measured connection in ClickHouse's
// query log (its client_name), so its queries are told from the rest.
const clientMarker = "privaudit-reportsbench"

// openMeasured opens the connection every measured native query runs on:
// the admin user (whose profile does not log queries) with log_queries set
// on each query, so system.query_log holds its read_rows and memory_usage.
// Report runs set their own per-query settings; connection settings are
// merged with them.
func openMeasured(ctx context.Context, t Target) (driver.Conn, error) {
	conn, err := clickhouse.Open(&clickhouse.Options{
		Addr:         []string{t.Addr},
		Auth:         clickhouse.Auth{Username: t.User, Password: t.Password},
		Settings:     clickhouse.Settings{"log_queries": 1},
		ClientInfo:   clickhouse.ClientInfo{Products: []struct{ Name, Version string }{{Name: clientMarker, Version: "1"}}},
		MaxOpenConns: 4,
		DialTimeout:  10 * time.Second,
		// A report over 10M events may compute for minutes before its
		// first block.
		ReadTimeout: time.Hour,
	})
	if err != nil {
		return nil, fmt.Errorf("open the measured connection: %w", err)
	}
	if err := conn.Ping(ctx); err != nil {
		conn.Close()
		return nil, fmt.Errorf("ping the measured connection: %w", err)
	}
	return conn, nil
}

// meter attributes query_log entries to steps: the measured steps run one
// after another, so a step's queries are the finished ones not yet seen.
type meter struct {
	t    Target
	seen map[string]bool
}

// collect fills f's ReadRows, PeakBytes and Queries from the measured
// connection's queries finished since the last call, or from the query
// with queryID when it is set (the HTTP baselines).
//
// ClickHouse may log a query's end a moment after the client has read its
// last byte, so collect polls until queryID (or, without one, at least one
// new query, and the end of every new query logged as started: a step may
// run several) is there, for up to a minute.
func (m *meter) collect(ctx context.Context, f *Figure, queryID string) error {
	deadline := time.Now().Add(time.Minute)
	for {
		pending, err := m.read(ctx, f, queryID)
		if err != nil || f.Queries > 0 && pending == 0 {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s: no finished query in system.query_log after a minute; the figures would be empty", f.Name)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// read adds the query log's unseen finished queries to f, and returns how
// many unseen queries are logged as started but not yet as ended.
func (m *meter) read(ctx context.Context, f *Figure, queryID string) (int, error) {
	if err := m.t.Conn.Exec(ctx, "SYSTEM FLUSH LOGS"); err != nil {
		return 0, fmt.Errorf("flush query log: %w", err)
	}
	q := "SELECT query_id, toUInt8(type), read_rows, memory_usage, query_duration_ms FROM system.query_log WHERE "
	args := []any{}
	if queryID != "" {
		q += "query_id = ?"
		args = append(args, queryID)
	} else {
		q += "position(client_name, ?) > 0"
		args = append(args, clientMarker)
	}
	rows, err := m.t.Conn.Query(ctx, q, args...)
	if err != nil {
		return 0, fmt.Errorf("read query log: %w", err)
	}
	defer rows.Close()
	started := map[string]bool{}
	for rows.Next() {
		var id string
		var typ uint8
		var read, mem, ms uint64
		if err := rows.Scan(&id, &typ, &read, &mem, &ms); err != nil {
			return 0, fmt.Errorf("read query log: %w", err)
		}
		if m.seen[id] {
			continue
		}
		if typ == 1 { // QueryStart
			started[id] = true
			continue
		}
		m.seen[id] = true
		if typ != 2 { // an exception: ended, not measured
			continue
		}
		f.Queries++
		f.ReadRows += read
		f.PeakPairBytes = max(f.PeakPairBytes, f.PeakBytes+int64(mem))
		f.PeakBytes = max(f.PeakBytes, int64(mem))
		f.ServerSeconds = max(f.ServerSeconds, float64(ms)/1000)
	}
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("read query log: %w", err)
	}
	pending := 0
	for id := range started {
		if !m.seen[id] {
			pending++
		}
	}
	return pending, nil
}

// httpQuery runs sql (no user values: only this package's constants and
// integers) through ClickHouse's HTTP interface as the admin user, with
// query logging on, and discards the output: ClickHouse producing the rows
// in the requested format, with nothing of privaudit in between. It
// returns the wall time and the number of output lines.
func httpQuery(ctx context.Context, t Target, queryID, sql string) (time.Duration, int64, error) {
	q := url.Values{"query_id": {queryID}, "log_queries": {"1"}, "database": {t.Schema.DB}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+t.HTTPAddr+"/?"+q.Encode(), strings.NewReader(sql))
	if err != nil {
		return 0, 0, err
	}
	req.Header.Set("X-ClickHouse-User", t.User)
	req.Header.Set("X-ClickHouse-Key", t.Password)
	start := time.Now()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, 0, fmt.Errorf("clickhouse http: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return 0, 0, fmt.Errorf("clickhouse http %d: %s", resp.StatusCode, msg)
	}
	lines, err := countLines(resp.Body)
	if err != nil {
		return 0, 0, fmt.Errorf("clickhouse http: read the result: %w", err)
	}
	return time.Since(start), lines, nil
}

// countLines reads r to its end and counts the newlines.
func countLines(r io.Reader) (int64, error) {
	buf := make([]byte, 1<<20)
	var n int64
	for {
		k, err := r.Read(buf)
		n += int64(bytes.Count(buf[:k], []byte{'\n'}))
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, err
		}
	}
}
