package queries

import (
	"context"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
)

func TestCheckStatementAllows(t *testing.T) {
	cases := map[string]string{
		"SELECT 1":                                "SELECT 1",
		"select 1;":                               "select 1",
		"SELECT 1 ;  \n -- bye\n":                 "SELECT 1 ",
		"  -- why\n/* block ; */ SELECT 2":        "  -- why\n/* block ; */ SELECT 2",
		"WITH 1 AS x SELECT x":                    "WITH 1 AS x SELECT x",
		"(SELECT 1) UNION ALL (SELECT 2)":         "(SELECT 1) UNION ALL (SELECT 2)",
		"SHOW TABLES":                             "SHOW TABLES",
		"describe table privaudit.access_events":  "describe table privaudit.access_events",
		"DESC privaudit.consent_events;":          "DESC privaudit.consent_events",
		"EXPLAIN SELECT 1":                        "EXPLAIN SELECT 1",
		"SELECT ';' AS semi":                      "SELECT ';' AS semi",
		`SELECT 'it''s; fine', "a;b", ` + "`c;d`": `SELECT 'it''s; fine', "a;b", ` + "`c;d`",
		`SELECT 'back\'slash; DROP TABLE x'`:      `SELECT 'back\'slash; DROP TABLE x'`,
		"SELECT 1 -- trailing; comment":           "SELECT 1 -- trailing; comment",
	}
	for in, want := range cases {
		got, err := CheckStatement(in)
		if err != nil {
			t.Errorf("CheckStatement(%q): %v", in, err)
			continue
		}
		if got != want {
			t.Errorf("CheckStatement(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestCheckStatementRefuses(t *testing.T) {
	cases := []struct {
		sql  string
		kind ErrorKind
		msg  string
	}{
		{"INSERT INTO privaudit.access_events VALUES (1)", ErrRefused, "INSERT statements are not allowed"},
		{"alter table privaudit.access_events delete where 1", ErrRefused, "ALTER statements are not allowed"},
		{"DROP TABLE privaudit.access_events", ErrRefused, "DROP"},
		{"CREATE TABLE x (a String) ENGINE = Memory", ErrRefused, "CREATE"},
		{"TRUNCATE TABLE privaudit.access_events", ErrRefused, "TRUNCATE"},
		{"OPTIMIZE TABLE privaudit.access_events FINAL", ErrRefused, "OPTIMIZE"},
		{"KILL QUERY WHERE 1", ErrRefused, "KILL"},
		{"SYSTEM SHUTDOWN", ErrRefused, "SYSTEM"},
		{"SET readonly = 0", ErrRefused, "SET"},
		{"USE privaudit_meta", ErrRefused, "USE"},
		{"/* SELECT */ RENAME TABLE a TO b", ErrRefused, "RENAME"},
		{"SELECT 1; SELECT 2", ErrRefused, "only one statement"},
		{"SELECT 1; DROP TABLE privaudit.access_events", ErrRefused, "only one statement"},
		{"SELECT 1;;", ErrRefused, "only one statement"},
		{"SELECT 'a'; -- x\n INSERT INTO t VALUES (1)", ErrRefused, "only one statement"},
		{"SELECT 1 /* ; */ ; SELECT 2", ErrRefused, "only one statement"},
		{"", ErrInvalid, "empty query"},
		{"  -- only a comment\n", ErrInvalid, "empty query"},
		{";", ErrInvalid, "must start with"},
		{"'SELECT'", ErrInvalid, "must start with"},
		{"SELECT 'unterminated; DROP TABLE x", ErrInvalid, "unterminated string literal"},
		{"SELECT /* open", ErrInvalid, "unterminated /* comment"},
	}
	for _, c := range cases {
		_, err := CheckStatement(c.sql)
		var qe *QueryError
		if !errors.As(err, &qe) {
			t.Errorf("CheckStatement(%q) = %v, want a *QueryError", c.sql, err)
			continue
		}
		if qe.Kind != c.kind || !strings.Contains(qe.Message, c.msg) {
			t.Errorf("CheckStatement(%q) = %s %q, want %s containing %q", c.sql, qe.Kind, qe.Message, c.kind, c.msg)
		}
		if qe.Kind == ErrRefused && strings.HasSuffix(c.msg, "not allowed") && !strings.Contains(qe.Message, "SELECT, WITH") {
			t.Errorf("refusal %q does not name what is allowed", qe.Message)
		}
	}
}

func TestPlaceholders(t *testing.T) {
	got, err := placeholders("SELECT @a, '@b', \"@c\", @a -- @d\n /* @e */ FROM t WHERE x = @f_2")
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"a", "f_2"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("placeholders = %v, want %v", got, want)
	}
}

func TestTranslateExceptions(t *testing.T) {
	cases := []struct {
		code int32
		msg  string
		kind ErrorKind
		want string
	}{
		{164, "Cannot insert into table in readonly mode", ErrRefused, "read-only"},
		{164, "Cannot execute SET query in readonly mode", ErrRefused, "settings cannot be changed"},
		{164, "Table functions are forbidden in readonly mode", ErrRefused, "table functions"},
		{291, "Access denied to database privaudit_meta for user privaudit_reader", ErrRefused, "Access denied to database privaudit_meta"},
		{159, "Timeout exceeded: elapsed 2.000459 seconds, maximum: 2", ErrLimit, "exceeded max_execution_time of 2s"},
		{241, "Memory limit (for query) exceeded: would use 2.00 GiB (attempt to allocate chunk of 1048576 bytes), maximum: 2.00 GiB", ErrLimit, "max_memory_usage of 2.00 GiB"},
		{396, "Limit for result exceeded, max rows: 1.00 million", ErrLimit, "Limit for result exceeded"},
		{62, "Syntax error (Multi-statements are not allowed): failed at position 9 (end of query): ; SELECT 2.", ErrRefused, "only one statement"},
		{62, "Syntax error: failed at position 1: EXPLAIN SELECT 1. Expected one of: SYSTEM query, SELECT subquery", ErrInvalid, "does not support EXPLAIN"},
		{60, "Table privaudit.nope doesn't exist., Stack trace:\n\n0. clickhouse-server(StackTrace::StackTrace()+0x16)", ErrInvalid, "Table privaudit.nope doesn't exist (ClickHouse error 60)"},
		{202, "Too many simultaneous queries. Maximum: 100", ErrUnavailable, "try again"},
		{193, "Wrong password for user privaudit_reader", ErrInternal, "reader_password"},
	}
	for _, c := range cases {
		err := translate(fmt.Errorf("wrapped: %w", &clickhouse.Exception{Code: c.code, Name: "DB::Exception", Message: c.msg}), false, time.Minute)
		var qe *QueryError
		if !errors.As(err, &qe) {
			t.Fatalf("code %d: %v is not a *QueryError", c.code, err)
		}
		if qe.Kind != c.kind || !strings.Contains(qe.Message, c.want) || qe.Code != c.code {
			t.Errorf("code %d: got %s %q (code %d), want %s containing %q", c.code, qe.Kind, qe.Message, qe.Code, c.kind, c.want)
		}
		if strings.Contains(qe.Message, "Stack trace") || strings.Contains(qe.Message, "Expected one of") {
			t.Errorf("code %d: message leaks server internals: %q", c.code, qe.Message)
		}
	}
}

func TestTranslateContextErrors(t *testing.T) {
	if k := KindOf(translate(context.Canceled, true, 2*time.Second)); k != ErrLimit {
		t.Errorf("runner timeout: kind %s, want limit", k)
	}
	if k := KindOf(translate(context.Canceled, false, time.Second)); k != ErrCanceled {
		t.Errorf("caller cancel: kind %s, want canceled", k)
	}
	err := translate(&clickhouse.Exception{Code: 394, Message: "Query was cancelled"}, true, 3*time.Second)
	if KindOf(err) != ErrLimit || !strings.Contains(err.Error(), "3s") {
		t.Errorf("cancelled by timeout: %v", err)
	}
	if translate(nil, false, 0) != nil {
		t.Error("translate(nil) is not nil")
	}
	if KindOf(errors.New("x")) != ErrInternal {
		t.Error("KindOf(plain error) is not internal")
	}
}

func TestPlainValue(t *testing.T) {
	s := "x"
	var nilStr *string
	ts := time.Date(2024, 5, 1, 12, 0, 0, 0, time.FixedZone("X", 3600))
	cases := []struct {
		in   any
		want any
	}{
		{&s, "x"},
		{&nilStr, nil},
		{uint8(7), int64(7)},
		{uint64(math.MaxUint64), uint64(math.MaxUint64)},
		{int32(-3), int64(-3)},
		{float32(1.5), 1.5},
		{ts, ts.UTC()},
		{[]string{"a", "b"}, []string{"a", "b"}},
		{[]uint32{1, 2}, []any{int64(1), int64(2)}},
		{true, true},
	}
	for _, c := range cases {
		v := reflect.New(reflect.TypeOf(c.in))
		v.Elem().Set(reflect.ValueOf(c.in))
		got := plainValue(v.Elem())
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("plainValue(%#v) = %#v, want %#v", c.in, got, c.want)
		}
	}
}

func TestClientLabel(t *testing.T) {
	if got := clientLabel("ana.officer@bank"); got != "ana.officer@bank" {
		t.Errorf("clientLabel kept = %q", got)
	}
	if got := clientLabel("x'); DROP\n"); got != "x____DROP_" {
		t.Errorf("clientLabel sanitized = %q", got)
	}
	if got := clientLabel(strings.Repeat("a", 100)); len(got) != 64 {
		t.Errorf("clientLabel long = %d bytes", len(got))
	}
	if clientLabel("") != "unknown" {
		t.Error("empty user")
	}
}
