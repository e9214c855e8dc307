package sqlconsole

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"

	"github.com/privaudit/privaudit/audit/chserver"
	"github.com/privaudit/privaudit/audit/ingest/ingesttest"
	"github.com/privaudit/privaudit/queries"
)

// forbidden are statements ad-hoc SQL must never run.
var forbidden = []struct{ name, sql string }{
	{"insert", "INSERT INTO privaudit.access_events (event_id) VALUES ('x')"},
	{"insert select", "INSERT INTO privaudit.access_events SELECT * FROM privaudit.access_events"},
	{"alter delete", "ALTER TABLE privaudit.access_events DELETE WHERE 1"},
	{"alter update", "ALTER TABLE privaudit.access_events UPDATE purpose = 'x' WHERE 1"},
	{"alter add column", "ALTER TABLE privaudit.access_events ADD COLUMN x String"},
	{"alter drop partition", "ALTER TABLE privaudit.access_events DROP PARTITION 202401"},
	{"drop table", "DROP TABLE privaudit.access_events"},
	{"drop database", "DROP DATABASE privaudit"},
	{"create", "CREATE TABLE privaudit.x (a String) ENGINE = Memory"},
	{"create temporary", "CREATE TEMPORARY TABLE x (a String)"},
	{"truncate", "TRUNCATE TABLE privaudit.access_events"},
	{"optimize", "OPTIMIZE TABLE privaudit.access_events FINAL"},
	{"rename", "RENAME TABLE privaudit.access_events TO privaudit.gone"},
	{"detach", "DETACH TABLE privaudit.access_events"},
	{"system", "SYSTEM SHUTDOWN"},
	{"system reload", "SYSTEM RELOAD CONFIG"},
	{"set readonly", "SET readonly = 0"},
	{"set limit", "SET max_execution_time = 1000"},
	{"settings clause", "SELECT count() FROM privaudit.access_events SETTINGS max_execution_time = 1000"},
	{"settings readonly", "SELECT 1 SETTINGS readonly = 0"},
	{"second statement", "SELECT 1; DROP TABLE privaudit.access_events"},
	{"file table function", "SELECT * FROM file('x.csv', 'CSV', 'a String')"},
	{"url table function", "SELECT * FROM url('http://127.0.0.1:9/', 'CSV', 'a String')"},
	{"remote to meta", "SELECT * FROM remote('127.0.0.1', privaudit_meta.api_tokens)"},
	{"insert into function", "INSERT INTO FUNCTION file('out.csv', 'CSV', 'a String') VALUES ('x')"},
	{"meta tokens", "SELECT token_id, secret_hash FROM privaudit_meta.api_tokens"},
	{"meta via subquery", "SELECT * FROM privaudit.access_events WHERE event_id IN (SELECT secret_hash FROM privaudit_meta.api_tokens)"},
	{"use meta", "USE privaudit_meta"},
}

// TestClickHouseRefusesWithoutTheGoCheck sends every forbidden statement
// straight through the reader connection, bypassing CheckStatement: the
// refusal must come from ClickHouse itself, and nothing may change.
func TestClickHouseRefusesWithoutTheGoCheck(t *testing.T) {
	f := startFixture(t, fixtureOptions{})
	f.ingestEvents(t, share(nil), share(nil))
	ctx := context.Background()
	for _, c := range forbidden {
		err := f.reader.Exec(ctx, c.sql)
		var ex *clickhouse.Exception
		if !errors.As(err, &ex) {
			t.Errorf("%s: %q was not refused by ClickHouse (err = %v)", c.name, c.sql, err)
			continue
		}
		// 164 READONLY, 291 DATABASE_ACCESS_DENIED, 62 SYNTAX_ERROR (multi-statements), 497 ACCESS_DENIED.
		if !slices.Contains([]int32{164, 291, 62, 497}, ex.Code) {
			t.Errorf("%s: refused with unexpected code %d: %s", c.name, ex.Code, ex.Message)
		}
	}
	if n := f.env.Count(t, "SELECT count() FROM privaudit.access_events"); n != 2 {
		t.Errorf("access_events has %d rows after the attempts, want 2", n)
	}
	if n := f.env.Count(t, "SELECT count() FROM system.tables WHERE database = 'privaudit' AND name IN ('x', 'gone')"); n != 0 {
		t.Errorf("%d tables were created", n)
	}
	if n := f.env.Count(t, "SELECT count() FROM system.columns WHERE database = 'privaudit' AND table = 'access_events' AND name = 'x'"); n != 0 {
		t.Error("a column was added")
	}
	if _, err := os.Stat(filepath.Join(f.env.CH.Dir, "user_files", "out.csv")); err == nil {
		t.Error("a file was written through a table function")
	}
}

// TestRunnerRefuses runs the same statements through the runner: each is a
// refusal with a clear message. Those that pass the Go check (one SELECT)
// are refused by ClickHouse, which the error code shows.
func TestRunnerRefuses(t *testing.T) {
	f := startFixture(t, fixtureOptions{})
	byServer := map[string]bool{"settings clause": true, "settings readonly": true, "file table function": true,
		"url table function": true, "remote to meta": true, "meta tokens": true, "meta via subquery": true}
	for _, c := range forbidden {
		_, _, err := f.run(t, queries.Query{SQL: c.sql, User: "test-officer"})
		var qe *queries.QueryError
		if !errors.As(err, &qe) || qe.Kind != queries.ErrRefused {
			t.Errorf("%s: runner returned %v, want a refusal", c.name, err)
			continue
		}
		if byServer[c.name] != (qe.Code != 0) {
			t.Errorf("%s: refused by ClickHouse = %v (code %d), want %v", c.name, qe.Code != 0, qe.Code, byServer[c.name])
		}
		if !strings.HasPrefix(qe.Message, "query refused") || strings.Contains(qe.Message, "Stack trace") || strings.Contains(qe.Message, "DB::Exception") {
			t.Errorf("%s: unclear message %q", c.name, qe.Message)
		}
	}
}

// TestReaderCannotKillOthersQueries: KILL is refused by the Go check, and
// by ClickHouse for queries of other users (here privaudit's own).
func TestReaderCannotKillOthersQueries(t *testing.T) {
	f := startFixture(t, fixtureOptions{})
	ctx := context.Background()
	done := make(chan error, 1)
	go func() { done <- f.env.Conn.Exec(ctx, "SELECT sleep(2)") }()
	deadline := time.Now().Add(5 * time.Second)
	for f.env.Count(t, "SELECT count() FROM system.processes WHERE query = 'SELECT sleep(2)'") == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the admin query never showed in system.processes")
		}
		time.Sleep(20 * time.Millisecond)
	}
	err := f.reader.Exec(ctx, "KILL QUERY WHERE query = 'SELECT sleep(2)' SYNC")
	var ex *clickhouse.Exception
	if !errors.As(err, &ex) || ex.Code != 164 {
		t.Errorf("KILL of privaudit's query: %v, want ClickHouse code 164", err)
	}
	if err := <-done; err != nil {
		t.Errorf("the admin query was disturbed: %v", err)
	}
	_, _, err = f.run(t, queries.Query{SQL: "KILL QUERY WHERE 1"})
	if queries.KindOf(err) != queries.ErrRefused {
		t.Errorf("runner KILL: %v, want refused", err)
	}
}

// TestClientSettingsCannotRaiseLimits: settings the client sends with a
// query do not change the reader's limits.
func TestClientSettingsCannotRaiseLimits(t *testing.T) {
	f := startFixture(t, fixtureOptions{Limits: ingesttest.Options{ReaderLimits: chserver.ReaderLimits{MaxExecutionTime: 2 * time.Second}}})
	ctx := clickhouse.Context(context.Background(), clickhouse.WithSettings(clickhouse.Settings{
		"max_execution_time": 1000, "readonly": 0, "max_memory_usage": 1 << 40}))
	rows, err := f.reader.Query(ctx, "SELECT name, value FROM system.settings WHERE name IN ('max_execution_time', 'readonly', 'max_memory_usage')")
	if err != nil {
		var ex *clickhouse.Exception
		if !errors.As(err, &ex) {
			t.Fatalf("not refused by the server: %v", err)
		}
		return // refused outright (current servers): the limits stand
	}
	defer rows.Close()
	got := map[string]string{}
	for rows.Next() {
		var n, v string
		if err := rows.Scan(&n, &v); err != nil {
			t.Fatal(err)
		}
		got[n] = v
	}
	want := map[string]string{"max_execution_time": "2", "readonly": "1", "max_memory_usage": "2147483648"}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("with client settings, %s = %q, want the profile's %q", k, got[k], v)
		}
	}
}

// TestRunawayQueriesStopped: a cross join over system.numbers and an
// endless scan are stopped by the reader's limits, and the server answers
// the next query at once.
func TestRunawayQueriesStopped(t *testing.T) {
	f := startFixture(t, fixtureOptions{Limits: ingesttest.Options{ReaderLimits: chserver.ReaderLimits{
		MaxExecutionTime: 2 * time.Second, MaxMemoryUsage: 256 << 20}}})
	for _, sql := range []string{
		"SELECT count() FROM system.numbers a CROSS JOIN system.numbers b",
		"SELECT sum(number) FROM system.numbers",
		"SELECT number FROM system.numbers WHERE number % 1000000000 = 7 AND number > 10",
	} {
		start := time.Now()
		_, _, err := f.run(t, queries.Query{SQL: sql})
		took := time.Since(start)
		var qe *queries.QueryError
		if !errors.As(err, &qe) || qe.Kind != queries.ErrLimit {
			t.Fatalf("%s: %v, want stopped by a limit", sql, err)
		}
		if !strings.HasPrefix(qe.Message, "query stopped: exceeded max_") {
			t.Errorf("%s: message %q", sql, qe.Message)
		}
		if took > 8*time.Second {
			t.Errorf("%s: stopped only after %s", sql, took)
		}
		t.Logf("%s: stopped after %s: %s", sql, took.Round(time.Millisecond), qe.Message)
		start = time.Now()
		rows, _, err := f.run(t, queries.Query{SQL: "SELECT 42"})
		if err != nil || len(rows) != 1 || rows[0][0] != int64(42) {
			t.Fatalf("next query: %v %v", rows, err)
		}
		if d := time.Since(start); d > time.Second {
			t.Errorf("the next query took %s", d)
		}
		waitNoReaderQueries(t, f)
	}
}

// TestRunnerTimeoutAndTruncation: the runner's own timeout stops a query
// without sending any setting, and a result longer than MaxRows is cut and
// its query cancelled on the server.
func TestRunnerTimeoutAndTruncation(t *testing.T) {
	f := startFixture(t, fixtureOptions{Runner: queries.RunnerOptions{MaxRows: 1000, Timeout: 700 * time.Millisecond}})
	start := time.Now()
	_, _, err := f.run(t, queries.Query{SQL: "SELECT sleep(3)"})
	if queries.KindOf(err) != queries.ErrLimit || !strings.Contains(err.Error(), "700ms") {
		t.Errorf("sleep past the runner timeout: %v", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("runner timeout took %s", d)
	}
	// A caller's deadline is honoured without becoming a setting.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	res, err := f.runner.Query(ctx, queries.Query{SQL: "SELECT number FROM system.numbers"})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for res.Next() {
		n++
	}
	if n != 1000 || !res.Truncated() || res.Err() != nil || res.Rows() != 1000 {
		t.Errorf("endless result: %d rows, truncated %v, err %v", n, res.Truncated(), res.Err())
	}
	if !strings.HasPrefix(res.ID(), "privaudit-query-") {
		t.Errorf("query id %q", res.ID())
	}
	closeStart := time.Now()
	res.Close()
	if d := time.Since(closeStart); d > time.Second {
		t.Errorf("Close of a truncated result took %s", d)
	}
	waitNoReaderQueries(t, f)
	rows, res2, err := f.run(t, queries.Query{SQL: "SELECT number FROM system.numbers LIMIT 10"})
	if err != nil || len(rows) != 10 || res2.Truncated() {
		t.Errorf("after a truncation: %d rows, %v", len(rows), err)
	}
}

// waitNoReaderQueries waits until the reader has no query left running on
// the server (a stopped query may take a moment to unwind).
func waitNoReaderQueries(t *testing.T, f *fixture) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for f.env.Count(t, "SELECT count() FROM system.processes WHERE user = ?", f.env.CH.ReaderUser) != 0 {
		if time.Now().After(deadline) {
			t.Fatal("a reader query still runs on the server 5s after it was stopped")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestCheckReader accepts the managed reader and refuses an administrator
// connection handed to the runner by mistake.
func TestCheckReader(t *testing.T) {
	f := startFixture(t, fixtureOptions{})
	ctx := context.Background()
	if err := f.runner.CheckReader(ctx, f.env.Schema); err != nil {
		t.Errorf("the reader: %v", err)
	}
	err := queries.NewRunner(f.env.Conn, queries.RunnerOptions{}).CheckReader(ctx, f.env.Schema)
	if err == nil || !strings.Contains(err.Error(), "readonly") {
		t.Errorf("the admin connection: %v, want a refusal naming readonly", err)
	}
}
