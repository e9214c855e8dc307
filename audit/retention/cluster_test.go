package retention_test

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/privaudit/privaudit/audit/chserver"
	"github.com/privaudit/privaudit/audit/retention"
	"github.com/privaudit/privaudit/audit/store"
	"github.com/privaudit/privaudit/queries"
)

// TestRetentionOnReplicatedPair: in cluster mode the job drops a
// partition past its retention ON CLUSTER, so both replicas lose it, and
// keeps the recent one on both.
func TestRetentionOnReplicatedPair(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a ZooKeeper and two ClickHouse servers")
	}
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	c, err := chserver.StartCluster(ctx, chserver.ClusterOptions{Dir: t.TempDir(), Shards: 1, Logger: log})
	if errors.Is(err, chserver.ErrNoZooKeeper) && os.Getenv("CI") == "" {
		t.Skipf("%v (CI installs it and runs this test)", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Stop)
	var conns []driver.Conn
	for _, addr := range c.Addrs() {
		conn, err := store.Open(ctx, store.Options{Addrs: []string{addr}, User: c.AdminUser, Password: c.AdminPassword})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
		conns = append(conns, conn)
	}
	s := queries.DefaultSchema
	s.Cluster = c.Name
	if err := store.Migrate(ctx, conns[0], s, nil); err != nil {
		t.Fatal(err)
	}
	for _, at := range []string{"2026-05-10 08:00:00", "2026-11-10 08:00:00"} {
		if err := conns[0].Exec(ctx, "INSERT INTO privaudit.access_events (event_id, occurred_at, subject_id) SELECT ?, toDateTime(?, 'UTC'), 's'", at, at); err != nil {
			t.Fatal(err)
		}
	}
	for _, conn := range conns {
		waitPartitions(t, ctx, conn, "202605", "202611")
	}
	// The job's main connection is a replica that is not the leader.
	runner := conns[0]
	var leader uint8
	if err := conns[0].QueryRow(ctx, "SELECT is_leader FROM system.replicas WHERE database = 'privaudit' AND table = 'access_events'").Scan(&leader); err != nil {
		t.Fatal(err)
	}
	if leader == 1 {
		runner = conns[1]
	}
	p := retention.Policy{"access_events": 3}
	j, err := retention.NewJob(retention.Options{Conn: runner, Replicas: conns, Schema: s, Policy: p, AllowShortRetention: true,
		Instance: "node0", Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	if err := j.Run(ctx); err != nil {
		t.Fatal(err)
	}
	for _, conn := range conns {
		waitPartitions(t, ctx, conn, "202611")
	}
}

// waitPartitions waits (replication is asynchronous) until the node's
// access_events has exactly the partitions want.
func waitPartitions(t *testing.T, ctx context.Context, conn driver.Conn, want ...string) {
	t.Helper()
	for deadline := time.Now().Add(90 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		got := partitions(t, ctx, conn, "access_events")
		if equal(got, want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("access_events partitions %v, want %v", got, want)
		}
	}
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
