package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/privaudit/privaudit/audit/chserver"
	"github.com/privaudit/privaudit/audit/ingest"
	"github.com/privaudit/privaudit/audit/store"
)

// startTestCluster starts a local cluster of two ClickHouse nodes and
// ZooKeeper for one test. Without ZooKeeper it skips, except in CI, where
// `make deps-test` installs it and a skip would hide the replicated mode.
func startTestCluster(t *testing.T, shards int) *chserver.Cluster {
	t.Helper()
	if testing.Short() {
		t.Skip("starts a ZooKeeper and two ClickHouse servers")
	}
	start := time.Now()
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	c, err := chserver.StartCluster(context.Background(), chserver.ClusterOptions{Dir: t.TempDir(), Shards: shards, Logger: log})
	if errors.Is(err, chserver.ErrNoZooKeeper) && os.Getenv("CI") == "" {
		t.Skipf("%v (CI installs it and runs this test)", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Stop)
	t.Logf("cluster of 2 nodes, %d shard(s), started in %s", shards, time.Since(start).Round(time.Millisecond))
	return c
}

// clusterMain is a privaudit configured for cluster c, with its own data dir.
func clusterMain(t *testing.T, c *chserver.Cluster) *Main {
	cfg := DefaultConfig()
	cfg.DataDir = t.TempDir()
	cfg.ClickHouse.Addr = c.Addrs()
	cfg.ClickHouse.User, cfg.ClickHouse.Password = c.AdminUser, c.AdminPassword
	cfg.ClickHouse.Cluster = c.Name
	return &Main{Config: cfg, Log: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
		Stdout: os.Stdout, Stderr: os.Stderr}
}

// TestClusterOfTwoShardsRefused: a clickhouse.cluster spanning two shards
// would scatter events, consents and keys over the shards and give wrong
// answers; privaudit refuses it at start, naming the setting.
func TestClusterOfTwoShardsRefused(t *testing.T) {
	c := startTestCluster(t, 2)
	m := clusterMain(t, c)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	st, err := m.openStorage(ctx)
	if err == nil {
		st.Close()
		t.Fatal("privaudit started on a cluster of two shards")
	}
	if want := "clickhouse.cluster privaudit has 2 shards"; !strings.Contains(err.Error(), want) {
		t.Fatalf("refusal %q does not say %q", err, want)
	}
}

// TestReplicatedPairInOrderAndNodeDown: on a replicated pair privaudit uses
// the first node for every connection (the second is a failover), and with
// the first node killed it still starts — the schema is current, so no ON
// CLUSTER DDL waits for the dead node — and ingests through the second.
func TestReplicatedPairInOrderAndNodeDown(t *testing.T) {
	c := startTestCluster(t, 1)
	m := clusterMain(t, c)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	st, err := m.openStorage(ctx) // creates the schema ON CLUSTER
	if err != nil {
		t.Fatal(err)
	}
	// Concurrent queries hold separate connections: all must be on node 1.
	var wg sync.WaitGroup
	replicas := make([]string, 6)
	for i := range replicas {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var sleep uint8
			if err := st.Conn.QueryRow(ctx, "SELECT substitution, sleep(0.3) FROM system.macros WHERE macro = 'replica'").Scan(&replicas[i], &sleep); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	for i, r := range replicas {
		if r != "r1" {
			t.Fatalf("connection %d went to replica %s, want r1 for all (in order, not round-robin): %v", i, r, replicas)
		}
	}
	st.Close()

	c.Nodes[0].Kill()
	sctx, scancel := context.WithTimeout(ctx, 60*time.Second)
	defer scancel()
	st, err = m.openStorage(sctx)
	if err != nil {
		t.Fatalf("privaudit does not start with node 1 down: %v", err)
	}
	defer st.Close()
	in, err := ingest.Open(ctx, ingest.Options{SpoolDir: filepath.Join(m.Config.DataDir, "spool"),
		Linger: 20 * time.Millisecond, Conn: st.Conn, Schema: m.Config.Schema(), Logger: m.Log})
	if err != nil {
		t.Fatal(err)
	}
	in.Start()
	defer in.Close(context.Background())
	postEvents(t, in, 0, 20)
	node2, err := store.Open(ctx, store.Options{Addrs: c.Addrs()[1:], User: c.AdminUser, Password: c.AdminPassword})
	if err != nil {
		t.Fatal(err)
	}
	defer node2.Close()
	var n uint64
	if err := node2.QueryRow(ctx, "SELECT count() FROM privaudit.access_events").Scan(&n); err != nil || n != 20 {
		t.Fatalf("node 2 holds %d events (%v), want 20", n, err)
	}
	// The officers' view of the verdicts is created ON CLUSTER too.
	if err := node2.QueryRow(ctx, "SELECT count() FROM privaudit.verdicts").Scan(&n); err != nil || n != 20 {
		t.Fatalf("privaudit.verdicts on node 2 shows %d events (%v), want 20", n, err)
	}
}

// postEvents ingests crashEvent(from..from+n-1) through in's handler and
// waits until they are stored.
func postEvents(t *testing.T, in *ingest.Ingestor, from, n int) {
	t.Helper()
	sendEvents(t, in, from, n)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := in.WaitStored(ctx); err != nil {
		t.Fatal(err)
	}
}

// sendEvents posts crashEvent(from..from+n-1) to in's handler; they are
// spooled, not yet stored, when it returns.
func sendEvents(t *testing.T, in *ingest.Ingestor, from, n int) {
	t.Helper()
	var b strings.Builder
	for i := from; i < from+n; i++ {
		b.WriteString(crashEvent(i) + "\n")
	}
	mux := http.NewServeMux()
	in.Routes(mux, func(h http.Handler) http.Handler { return h })
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/v1/events", strings.NewReader(b.String())))
	if rec.Code != http.StatusOK {
		t.Fatalf("ingest: %d %s", rec.Code, rec.Body)
	}
}

// nodeSQL runs the test's own statements on one connection.
type nodeSQL struct {
	t    *testing.T
	ctx  context.Context
	conn driver.Conn
}

func (n nodeSQL) exec(sql string) {
	n.t.Helper()
	if err := n.conn.Exec(n.ctx, sql); err != nil {
		n.t.Fatalf("%s: %v", sql, err)
	}
}

func (n nodeSQL) count(sql string) uint64 {
	n.t.Helper()
	var v uint64
	if err := n.conn.QueryRow(n.ctx, sql).Scan(&v); err != nil {
		n.t.Fatalf("%s: %v", sql, err)
	}
	return v
}

// rowsPerBatch counts access_events rows (raw) by batch id.
func (n nodeSQL) rowsPerBatch() map[string]uint64 {
	n.t.Helper()
	rows, err := n.conn.Query(n.ctx, "SELECT batch_id, count() FROM privaudit.access_events GROUP BY batch_id")
	if err != nil {
		n.t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]uint64{}
	for rows.Next() {
		var id string
		var c uint64
		if err := rows.Scan(&id, &c); err != nil {
			n.t.Fatal(err)
		}
		out[id] = c
	}
	return out
}

// TestSecondServeRefusedByLease: two `serve` on one database would store
// resends twice (the stored-key filter lives in one process) and fire every
// schedule twice; the second is refused by the writer lease, naming the
// first, and starts once the first has stopped.
func TestSecondServeRefusedByLease(t *testing.T) {
	c := startTestCluster(t, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	m1, m2 := clusterMain(t, c), clusterMain(t, c)
	m1.Config.Listen, m2.Config.Listen = "127.0.0.1:0", "127.0.0.1:0"
	s1, err := m1.startServer(ctx)
	if err != nil {
		t.Fatal(err)
	}
	s2, err := m2.startServer(ctx)
	if err == nil {
		s2.Shutdown()
		s1.Shutdown()
		t.Fatal("a second serve started on a database another serve writes")
	}
	host, _ := os.Hostname()
	for _, want := range []string{"holds the writer lease until", "on host " + host, fmt.Sprintf("pid %d", os.Getpid())} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("refusal %q does not say %q", err, want)
		}
	}
	if err := s1.Shutdown(); err != nil {
		t.Fatal(err)
	}
	s2, err = m2.startServer(ctx)
	if err != nil {
		t.Fatalf("serve refused after the lease holder stopped: %v", err)
	}
	s2.Shutdown()
}

// TestReplicatedRetryKeepsKeyTableComplete: an insert whose events reached
// the replicated table but whose keys did not is retried by the writer; the
// retry must leave every stored event with its key, and a later resend must
// not be stored again. To make the key insert fail after the events were
// committed, node 1's key table is swapped for one whose event_id column
// cannot take the keys, and swapped back once the events are in. Counts are
// of raw rows, never FINAL.
func TestReplicatedRetryKeepsKeyTableComplete(t *testing.T) {
	c := startTestCluster(t, 1)
	m := clusterMain(t, c)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	st, err := m.openStorage(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	node1 := nodeSQL{t, ctx, st.Conn} // in order: the writer's node too
	node1.exec("RENAME TABLE privaudit_meta.event_key_hashes TO privaudit_meta.event_key_hashes_saved")
	node1.exec("CREATE TABLE privaudit_meta.event_key_hashes (key UInt64, event_id UInt8) ENGINE = MergeTree ORDER BY key")
	in, err := ingest.Open(ctx, ingest.Options{SpoolDir: filepath.Join(m.Config.DataDir, "spool"),
		Linger: 20 * time.Millisecond, Conn: st.Conn, Schema: m.Config.Schema(), Logger: m.Log})
	if err != nil {
		t.Fatal(err)
	}
	in.Start()
	defer in.Close(context.Background())
	sendEvents(t, in, 0, 20)
	// The events are committed, their keys refused: the writer sees an error.
	for node1.count("SELECT count() FROM privaudit.access_events") == 0 {
		if ctx.Err() != nil {
			t.Fatal("the events never reached access_events")
		}
		time.Sleep(50 * time.Millisecond)
	}
	node1.exec("DROP TABLE privaudit_meta.event_key_hashes")
	node1.exec("RENAME TABLE privaudit_meta.event_key_hashes_saved TO privaudit_meta.event_key_hashes")
	if err := in.WaitStored(ctx); err != nil {
		t.Fatal(err)
	}
	missing := node1.count("SELECT count() FROM privaudit.access_events WHERE event_id NOT IN (SELECT event_id FROM privaudit_meta.event_key_hashes)")
	keys := node1.count("SELECT uniqExact(event_id) FROM privaudit_meta.event_key_hashes")
	if missing != 0 || keys != 20 {
		t.Fatalf("after the retried insert the key table holds %d of 20 keys (%d stored event rows have no key)", keys, missing)
	}
	// The resend is a batch of its own: no row may carry a new batch id
	// (merges may collapse the retry's identical rows meanwhile, so raw
	// totals before and after would not compare).
	before := node1.rowsPerBatch()
	postEvents(t, in, 0, 20)
	for id, n := range node1.rowsPerBatch() {
		if _, ok := before[id]; !ok {
			t.Fatalf("a resend of stored events was stored again: %d rows in batch %s", n, id)
		}
	}
}
