package chserver

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"os"
	"testing"
)

// TestClusterStartsAgainOnTakenPort: when another process takes a node's
// port between the pick and the node's start, the cluster starts again on
// fresh ports instead of retrying the taken one.
func TestClusterStartsAgainOnTakenPort(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a ZooKeeper and two ClickHouse servers")
	}
	held, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	calls := 0
	freePorts = func(n int) ([]int, error) {
		calls++
		ports, err := FreePorts(n)
		if err == nil && calls == 1 {
			ports[1] = held.Addr().(*net.TCPAddr).Port // node 1's native port
		}
		return ports, err
	}
	defer func() { freePorts = FreePorts }()
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	c, err := StartCluster(context.Background(), ClusterOptions{Dir: t.TempDir(), Logger: log})
	if errors.Is(err, ErrNoZooKeeper) && os.Getenv("CI") == "" {
		t.Skipf("%v (CI installs it and runs this test)", err)
	}
	if err != nil {
		t.Fatalf("cluster with a taken port: %v", err)
	}
	defer c.Stop()
	if calls < 2 || len(c.Nodes) != 2 {
		t.Errorf("%d port picks, %d nodes: want the cluster started again on fresh ports", calls, len(c.Nodes))
	}
}
