package store_test

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/privaudit/privaudit/audit/chserver"
	"github.com/privaudit/privaudit/audit/store"
	"github.com/privaudit/privaudit/queries"
)

// migrated starts a managed ClickHouse with the schema applied.
func migrated(t *testing.T) (context.Context, driver.Conn, queries.Schema) {
	t.Helper()
	ctx := context.Background()
	ch, err := chserver.Start(ctx, chserver.Options{Dir: filepath.Join(t.TempDir(), "ch")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ch.Stop(context.Background()) })
	conn, err := store.Open(ctx, store.Options{Addrs: []string{ch.Addr}, User: ch.AdminUser, Password: ch.AdminPassword})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	s := queries.DefaultSchema
	if err := store.Migrate(ctx, conn, s, nil); err != nil {
		t.Fatal(err)
	}
	return ctx, conn, s
}

// TestLeaseStaleTakenOverLiveRefused: a lease whose holder stopped renewing
// is taken over, with a warning; a live one held by another instance is
// refused; a released one is taken without a warning (a clean restart is
// not a takeover).
func TestLeaseStaleTakenOverLiveRefused(t *testing.T) {
	ctx, conn, s := migrated(t)
	// A holder that died without releasing: its lease expired 10 s ago.
	if err := conn.Exec(ctx, "INSERT INTO privaudit_meta.instance_lease SELECT 'writer', 'dead', 'old-host', 42, now() - 40, now() - 10, 1"); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, nil))
	a, err := store.TakeLease(ctx, store.LeaseOptions{Conn: conn, Schema: s, Holder: "a", Logger: logger})
	if err != nil {
		t.Fatalf("a stale lease was not taken over: %v", err)
	}
	const takeover = "stopped renewing"
	if !strings.Contains(logs.String(), takeover) {
		t.Errorf("taking over the stale lease of dead logged no warning:\n%s", logs.String())
	}
	_, err = store.TakeLease(ctx, store.LeaseOptions{Conn: conn, Schema: s, Holder: "b"})
	if err == nil || !strings.Contains(err.Error(), "instance a on host") {
		t.Fatalf("a live lease held by a was not refused to b: %v", err)
	}
	a.Release(ctx)
	logs.Reset()
	b, err := store.TakeLease(ctx, store.LeaseOptions{Conn: conn, Schema: s, Holder: "b", Logger: logger})
	if err != nil {
		t.Fatalf("a released lease was not taken: %v", err)
	}
	if strings.Contains(logs.String(), takeover) {
		t.Errorf("taking the lease a released logged a takeover warning:\n%s", logs.String())
	}
	b.Release(ctx)
}

// TestLeaseOfDeadProcessOnThisHostTakenOver: after a kill -9 the restarted
// serve finds its predecessor's live lease; the predecessor's pid on this
// host is gone, so the lease is taken over at once.
func TestLeaseOfDeadProcessOnThisHostTakenOver(t *testing.T) {
	ctx, conn, s := migrated(t)
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	host, _ := os.Hostname()
	if err := conn.Exec(ctx, "INSERT INTO privaudit_meta.instance_lease SELECT 'writer', 'killed', ?, ?, now(), now() + 300, 1",
		host, uint32(dead.Process.Pid)); err != nil {
		t.Fatal(err)
	}
	l, err := store.TakeLease(ctx, store.LeaseOptions{Conn: conn, Schema: s, Holder: "restarted"})
	if err != nil {
		t.Fatalf("the lease of a dead process on this host was not taken over: %v", err)
	}
	l.Release(ctx)
	// The same row naming a live process (this one) is refused.
	if err := conn.Exec(ctx, "INSERT INTO privaudit_meta.instance_lease SELECT 'writer', 'alive', ?, ?, now(), now() + 300, ?",
		host, uint32(os.Getpid()), uint64(time.Now().UnixNano())); err != nil {
		t.Fatal(err)
	}
	if _, err := store.TakeLease(ctx, store.LeaseOptions{Conn: conn, Schema: s, Holder: "other"}); err == nil {
		t.Fatal("the live lease of a running process was taken over")
	}
}

// TestLeaseLostWhenAnotherHolderAppears: two instances that took the lease
// in the same instant both pass the read-back; the renewal finds the other
// holder and reports the lease lost, which stops serve.
func TestLeaseLostWhenAnotherHolderAppears(t *testing.T) {
	ctx, conn, s := migrated(t)
	l, err := store.TakeLease(ctx, store.LeaseOptions{Conn: conn, Schema: s, Holder: "a", TTL: 3 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Release(ctx)
	if err := conn.Exec(ctx, "INSERT INTO privaudit_meta.instance_lease SELECT 'writer', 'b', 'other-host', 7, now(), now() + 300, ?",
		uint64(time.Now().Add(time.Hour).UnixNano())); err != nil {
		t.Fatal(err)
	}
	select {
	case <-l.Lost():
	case <-time.After(time.Minute):
		t.Fatal("the lease was not reported lost though another instance holds it")
	}
}

// TestMigrateRefusedWhileAnotherWrites: schema migrations do not run while
// another instance holds the writer lease (it would go on writing as its
// version does, past a migration's copy); once it released the lease they
// do. A current schema needs no migration, so nothing is refused.
func TestMigrateRefusedWhileAnotherWrites(t *testing.T) {
	ctx, conn, s := migrated(t)
	old, err := store.TakeLease(ctx, store.LeaseOptions{Conn: conn, Schema: s, Holder: "older-version"})
	if err != nil {
		t.Fatal(err)
	}
	if err := store.Migrate(ctx, conn, s, nil); err != nil {
		t.Fatalf("a current schema, with a writer running: %v", err)
	}
	if err := conn.Exec(ctx, "ALTER TABLE "+s.MetaDB+".schema_migrations DELETE WHERE version = 120"); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(2 * time.Minute)
	for queries.Current(ctx, conn, s) {
		if time.Now().After(deadline) {
			t.Fatal("the ALTER DELETE mutation did not finish within 2 minutes")
		}
		time.Sleep(50 * time.Millisecond)
	}
	err = store.Migrate(ctx, conn, s, nil)
	if err == nil || !strings.Contains(err.Error(), "instance older-version") || !strings.Contains(err.Error(), "migrations to apply") {
		t.Fatalf("migrating while older-version writes: %v, want a refusal naming it", err)
	}
	old.Release(ctx)
	if err := store.Migrate(ctx, conn, s, nil); err != nil {
		t.Fatalf("migrating once older-version released its lease: %v", err)
	}
	if !queries.Current(ctx, conn, s) {
		t.Error("the schema is not current after the migration")
	}
}
