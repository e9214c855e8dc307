package sqlconsole

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"

	"github.com/privaudit/privaudit/queries"
)

// sessionSnoops are ad-hoc statements that would show the SQL of other
// sessions, in the spellings ClickHouse accepts.
var sessionSnoops = []struct{ name, sql string }{
	{"plain", "SELECT query FROM system.processes"},
	{"backquoted", "SELECT query FROM `system`.`processes`"},
	{"double-quoted", `SELECT query FROM "system"."processes"`},
	{"spaced", "SELECT query FROM system . processes"},
	{"newlines", "SELECT query FROM system\n.\nprocesses"},
	{"block comments", "SELECT query FROM system/**/./**/processes"},
	{"line comments", "SELECT query FROM system -- where\n. -- from\nprocesses"},
	{"hex escape", "SELECT query FROM `sys\\x74em`.`processes`"},
	{"upper case", "SELECT query FROM SYSTEM.PROCESSES"},
	{"subquery", "SELECT q FROM (SELECT query AS q FROM system.processes)"},
	{"show processlist", "SHOW PROCESSLIST"},
	{"show processlist commented", "show /* all */ processlist"},
	{"query_log", "SELECT query FROM system.query_log"},
	{"query_thread_log", "SELECT query FROM system.query_thread_log"},
	{"mutations", "SELECT command FROM system.mutations"},
}

// TestOfficerCannotReadOtherSessions: while a report with a customer id
// bound into its SQL and another officer's query run, no ad-hoc query can
// read their text: each snooping spelling is refused, and the allowed
// system tables show neither it nor privaudit's bookkeeping.
func TestOfficerCannotReadOtherSessions(t *testing.T) {
	f := startFixture(t, fixtureOptions{})
	customer := "cust-SNOOP-" + newUUID()
	officerB := "officer-b-" + newUUID()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	reportID := "test-report-" + newUUID()
	done := make(chan struct{}, 2)
	go func() { // a report as privaudit runs it: the customer id bound into the text
		qctx := clickhouse.Context(ctx, clickhouse.WithQueryID(reportID))
		_ = f.env.Conn.Exec(qctx, "SELECT count() FROM system.numbers WHERE toString(number) = ?", customer)
		done <- struct{}{}
	}()
	go func() { // another officer's ad-hoc query, stopped by cancel
		res, err := f.runner.Query(ctx, queries.Query{SQL: "SELECT count() FROM system.numbers WHERE toString(number) = '" + officerB + "'", User: "officer-b"})
		if err == nil {
			for res.Next() {
			}
			res.Close()
		}
		done <- struct{}{}
	}()
	deadline := time.Now().Add(30 * time.Second)
	for f.env.Count(t, "SELECT count() FROM system.processes WHERE query_id = ? OR (user = ? AND query_id LIKE 'privaudit-query-%')", reportID, f.env.CH.ReaderUser) < 2 {
		if time.Now().After(deadline) {
			t.Fatal("the report and the other officer's query never both showed in system.processes")
		}
		time.Sleep(20 * time.Millisecond)
	}
	leaks := func(rows [][]any) bool {
		s := fmt.Sprint(rows)
		return strings.Contains(s, customer) || strings.Contains(s, officerB)
	}
	for _, c := range sessionSnoops {
		rows, _, err := f.run(t, queries.Query{SQL: c.sql, User: "officer-a"})
		if leaks(rows) {
			t.Errorf("%s: %q shows another session's SQL", c.name, c.sql)
		}
		if queries.KindOf(err) != queries.ErrRefused || !strings.Contains(err.Error(), "system.tables") {
			t.Errorf("%s: %q = %v, want a refusal naming the allowed system tables", c.name, c.sql, err)
		}
	}
	for _, table := range queries.SystemTables {
		if strings.HasPrefix(table, "numbers") {
			continue // endless
		}
		rows, _, err := f.run(t, queries.Query{SQL: "SELECT * FROM system." + table, User: "officer-a"})
		if err != nil {
			t.Errorf("allowed system.%s: %v", table, err)
		}
		if leaks(rows) {
			t.Errorf("allowed system.%s shows another session's SQL", table)
		}
	}
	for _, sql := range []string{
		"SELECT database, name FROM system.tables", "SELECT name FROM system.databases",
		"SELECT database, table FROM system.columns",
	} {
		rows, _, err := f.run(t, queries.Query{SQL: sql, User: "officer-a"})
		if err != nil || len(rows) == 0 || strings.Contains(fmt.Sprint(rows), f.env.Schema.MetaDB) {
			t.Errorf("%s: %v, %v: want rows that never name %s", sql, rows, err, f.env.Schema.MetaDB)
		}
	}
	cancel()
	<-done
	<-done
}

// TestCustomerIDsStayOutOfServerFiles: queries with a customer id bound into
// them, failing and succeeding, from privaudit and from an officer, leave
// no trace of it anywhere under the managed server's directory (logs, data,
// tmp).
func TestCustomerIDsStayOutOfServerFiles(t *testing.T) {
	f := startFixture(t, fixtureOptions{})
	customer := "cust-LOGMARK-" + newUUID()
	ctx := context.Background()
	if n := f.env.Count(t, "SELECT count() FROM privaudit.access_events WHERE subject_id = ?", customer); n != 0 {
		t.Fatalf("%d events for a fresh customer id", n)
	}
	failing := []string{
		"SELECT count() FROM privaudit.no_such_table WHERE subject_id = ?",
		"SELECT toUInt64(?)",
	}
	for _, sql := range failing {
		if err := f.env.Conn.Exec(ctx, sql, customer); err == nil {
			t.Fatalf("%q did not fail", sql)
		}
	}
	_, _, err := f.run(t, queries.Query{SQL: "SELECT toUInt64(@id)", Args: []any{clickhouse.Named("id", customer)}, User: "officer"})
	if err == nil || !strings.Contains(err.Error(), "UInt64") {
		t.Fatalf("the officer's failing query: %v", err)
	}
	logs, err := os.ReadDir(filepath.Join(f.env.CH.Dir, "logs"))
	if err != nil || !slices.ContainsFunc(logs, func(e fs.DirEntry) bool { return e.Name() == "err.log" }) {
		t.Fatalf("the server writes no err.log to grep (%v)", err)
	}
	err = filepath.WalkDir(f.env.CH.Dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !d.Type().IsRegular() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if bytes.Contains(b, []byte(customer)) {
			t.Errorf("the customer id is written to %s", path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestBoundStringsStayOutOfQueryText: a String value bound to a running
// query travels as an external table, so the query's text in
// system.processes does not hold it, and the saved query taking a
// customer id still finds that customer's rows.
func TestBoundStringsStayOutOfQueryText(t *testing.T) {
	f := startFixture(t, fixtureOptions{})
	customer := "cust-BOUND-" + newUUID()
	f.ingestEvents(t, share(map[string]any{"subject_id": customer}), share(nil))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		res, err := f.runner.Query(ctx, queries.Query{SQL: "SELECT count() FROM system.numbers WHERE toString(number) = @subject",
			Args: []any{clickhouse.Named("subject", customer)}, User: "officer-b"})
		if err == nil {
			for res.Next() {
			}
			res.Close()
		}
		done <- err
	}()
	var text string
	deadline := time.Now().Add(30 * time.Second)
	for text == "" {
		if time.Now().After(deadline) {
			t.Fatal("the query never showed in system.processes")
		}
		time.Sleep(20 * time.Millisecond)
		rows, err := f.env.Conn.Query(context.Background(), "SELECT query FROM system.processes WHERE user = ?", f.env.CH.ReaderUser)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			if err := rows.Scan(&text); err != nil {
				t.Fatal(err)
			}
		}
		rows.Close()
	}
	if strings.Contains(text, customer) || !strings.Contains(text, queries.ParamsTable) {
		t.Errorf("the running query's text is %q: want the value in %s, not in the text", text, queries.ParamsTable)
	}
	cancel()
	if err := <-done; err != nil && queries.KindOf(err) != queries.ErrCanceled {
		t.Errorf("the query failed: %v", err)
	}
	q, err := queries.LookupSaved("subject-recipients")
	if err != nil {
		t.Fatal(err)
	}
	sql, err := q.SQL(f.env.Schema)
	if err != nil {
		t.Fatal(err)
	}
	args, err := q.Bind(map[string]string{"subject": customer})
	if err != nil {
		t.Fatal(err)
	}
	rows, _, err := f.run(t, queries.Query{SQL: sql, Args: args, User: "officer-a"})
	if err != nil || len(rows) != 1 {
		t.Errorf("subject-recipients for the customer: %v, %v: want one row", rows, err)
	}
}
