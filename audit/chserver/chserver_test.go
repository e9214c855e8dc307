package chserver

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
)

func TestStartStop(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := Start(ctx, Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	v, err := s.Version(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if v == "" {
		t.Fatal("empty version")
	}
	if !strings.HasPrefix(s.Addr, "127.0.0.1:") {
		t.Fatalf("server must listen on loopback, got %s", s.Addr)
	}
	// The reader can read the database but not write it.
	rd, err := clickhouse.Open(&clickhouse.Options{Addr: []string{s.Addr},
		Auth: clickhouse.Auth{Username: s.ReaderUser, Password: s.ReaderPassword, Database: s.Database}})
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	var one uint8
	if err := rd.QueryRow(ctx, "SELECT 1").Scan(&one); err != nil || one != 1 {
		t.Fatalf("reader select: %v %d", err, one)
	}
	if err := rd.Exec(ctx, "CREATE TABLE t (a UInt8) ENGINE = Memory"); err == nil {
		t.Fatal("reader could create a table")
	}
	pid := s.cmd.Process.Pid
	if err := s.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if syscall.Kill(pid, 0) == nil {
		t.Fatalf("clickhouse pid %d still alive after Stop", pid)
	}
	if _, err := os.Stat(filepath.Join(dir, "server.pid")); !os.IsNotExist(err) {
		t.Fatalf("pid file left behind: %v", err)
	}
	// Data survives a restart on the same directory.
	s2, err := Start(ctx, Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Stop(ctx)
}

func TestSecondStartAttaches(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := Start(ctx, Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Stop(ctx)
	s2, err := Start(ctx, Options{Dir: dir, StartTimeout: 20 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if s2.Addr != s.Addr || s2.AdminPassword != s.AdminPassword {
		t.Fatalf("second start on a live directory must attach: %s vs %s", s2.Addr, s.Addr)
	}
	if err := s2.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Version(ctx); err != nil {
		t.Fatalf("stopping an attached server must not stop its owner's: %v", err)
	}
}

func TestMissingBinary(t *testing.T) {
	_, err := Start(context.Background(), Options{Dir: t.TempDir(), Binary: "no-such-clickhouse-server"})
	if err == nil || !strings.Contains(err.Error(), "apt-get install clickhouse-server") {
		t.Fatalf("want an install hint, got %v", err)
	}
}

// TestReaderProfileRefusesDeepAST bypasses privaudit's pre-check and sends
// the reader user a query nested deeper than its profile's max_ast_depth:
// ClickHouse itself must refuse it, and stay up.
func TestReaderProfileRefusesDeepAST(t *testing.T) {
	ctx := context.Background()
	s, err := Start(ctx, Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Stop(ctx)
	rd, err := clickhouse.Open(&clickhouse.Options{Addr: []string{s.Addr},
		Auth: clickhouse.Auth{Username: s.ReaderUser, Password: s.ReaderPassword, Database: s.Database}})
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	deep := "SELECT " + strings.Repeat("abs(", 300) + "1" + strings.Repeat(")", 300)
	var n uint8
	err = rd.QueryRow(ctx, deep).Scan(&n)
	var ex *clickhouse.Exception
	if !errors.As(err, &ex) || ex.Code != 167 || !strings.Contains(ex.Message, "Maximum: 256") {
		t.Fatalf("a 300-deep AST as the reader: %v (result %d), want ClickHouse error 167 naming max_ast_depth 256", err, n)
	}
	want := map[string]string{"max_ast_depth": "256", "max_ast_elements": "50000",
		"max_expanded_ast_elements": "100000", "max_query_size": "262144"}
	rows, err := rd.Query(ctx, "SELECT name, value FROM system.settings WHERE name IN ('max_ast_depth', 'max_ast_elements', 'max_expanded_ast_elements', 'max_query_size')")
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for rows.Next() {
		var name, value string
		if err := rows.Scan(&name, &value); err != nil {
			t.Fatal(err)
		}
		got[name] = value
	}
	rows.Close()
	for k, v := range want {
		if got[k] != v {
			t.Errorf("reader profile %s = %q, want %s", k, got[k], v)
		}
	}
	var one uint8
	if err := rd.QueryRow(ctx, "SELECT 1").Scan(&one); err != nil || one != 1 {
		t.Fatalf("clickhouse not answering after the refusal: %v", err)
	}
}
