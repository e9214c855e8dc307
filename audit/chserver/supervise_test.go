package chserver

import (
	"context"
	"syscall"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
)

// TestSuperviseRestartsAfterKill kills a supervised server as a crash would:
// it must come back on the same address, counted once, serve a reader pool
// opened before the crash, and stay down after a deliberate Stop.
func TestSuperviseRestartsAfterKill(t *testing.T) {
	ctx := context.Background()
	s, err := Start(ctx, Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Stop(ctx)
	s.Supervise(SuperviseOptions{MinBackoff: 100 * time.Millisecond})
	rd, err := clickhouse.Open(&clickhouse.Options{Addr: []string{s.Addr}, MaxOpenConns: 4, MaxIdleConns: 4,
		Auth: clickhouse.Auth{Username: s.ReaderUser, Password: s.ReaderPassword, Database: s.Database}})
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	selectOne := func() error {
		var one uint8
		return rd.QueryRow(ctx, "SELECT 1").Scan(&one)
	}
	for range 4 {
		if err := selectOne(); err != nil {
			t.Fatal(err)
		}
	}
	old := s.Pid()
	s.Kill()
	deadline := time.Now().Add(90 * time.Second)
	for s.Restarts() < 1 {
		if time.Now().After(deadline) {
			t.Fatal("the supervised server was not restarted within 90s of a SIGKILL")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if s.Restarts() != 1 || s.Pid() == old {
		t.Fatalf("restarts %d, pid %d (was %d): want one restart and a new process", s.Restarts(), s.Pid(), old)
	}
	t0 := time.Now()
	for i := range 8 { // every pooled connection died with the server
		if err := selectOne(); err != nil {
			t.Fatalf("query %d through the pre-crash reader pool after the restart: %v", i+1, err)
		}
	}
	t.Logf("8 queries through the pre-crash pool took %s", time.Since(t0).Round(time.Millisecond))
	pid := s.Pid()
	if err := s.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if syscall.Kill(pid, 0) == nil || s.Restarts() != 1 {
		t.Fatalf("after Stop: pid %d alive=%v, restarts %d: a deliberate stop must not be undone", pid, syscall.Kill(pid, 0) == nil, s.Restarts())
	}
	if _, err := s.Version(ctx); err == nil {
		t.Fatal("the server answers after Stop")
	}
}
