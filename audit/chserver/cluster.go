package chserver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"text/template"
	"time"
)

// ErrNoZooKeeper is returned by StartCluster when ZooKeeper is not installed.
var ErrNoZooKeeper = errors.New("zookeeper is not installed: apt-get install zookeeper (or run `make deps-test`)")

// zkServerScript is Debian's ZooKeeper launcher (package zookeeper).
const zkServerScript = "/usr/share/zookeeper/bin/zkServer.sh"

// ClusterOptions configure StartCluster.
type ClusterOptions struct {
	// Dir holds ZooKeeper's and every node's directory.
	Dir string
	// Name is the cluster's name in remote_servers. Default "privaudit".
	Name string
	// Nodes is the number of ClickHouse servers (default 2), spread over
	// Shards shards (default 1): node i belongs to shard i%Shards+1.
	Nodes, Shards int
	// Database is each node's officer-visible database (default "privaudit").
	Database string
	Logger   *slog.Logger
}

// Cluster is a local ClickHouse cluster on loopback: one ZooKeeper and
// several clickhouse-server processes that know each other through
// remote_servers, replicate through ZooKeeper, and run ON CLUSTER DDL. It
// exists for tests of privaudit's replicated mode.
type Cluster struct {
	Name  string
	Nodes []*Server
	// AdminUser and AdminPassword authenticate on every node.
	AdminUser, AdminPassword string

	zk *exec.Cmd
}

var clusterTmpl = template.Must(template.New("cluster").Parse(`<?xml version="1.0"?>
<!-- Written by privaudit's cluster harness: this node's place in the test cluster. -->
<yandex>
  <interserver_http_host>127.0.0.1</interserver_http_host>
  <interserver_http_port>{{.InterPort}}</interserver_http_port>
  <zookeeper>
    <node><host>127.0.0.1</host><port>{{.ZKPort}}</port></node>
    <session_timeout_ms>10000</session_timeout_ms>
  </zookeeper>
  <distributed_ddl><path>/clickhouse/task_queue/ddl</path></distributed_ddl>
  <macros><shard>{{.Shard}}</shard><replica>r{{.Replica}}</replica></macros>
  <remote_servers>
    <{{.Name}}>{{range .Shards}}
      <shard><internal_replication>true</internal_replication>{{range .}}
        <replica><host>127.0.0.1</host><port>{{.}}</port></replica>{{end}}
      </shard>{{end}}
    </{{.Name}}>
  </remote_servers>
</yandex>
`))

// StartCluster starts ZooKeeper and the nodes, and waits until every node
// answers. Stop it when done. The nodes' ports are written into every
// node's configuration, so a node that cannot start (another process took
// one of its ports after they were picked) cannot move alone: the whole
// cluster is started again on fresh ports, up to three times.
func StartCluster(ctx context.Context, o ClusterOptions) (*Cluster, error) {
	if o.Name == "" {
		o.Name = "privaudit"
	}
	o.Nodes, o.Shards = max(o.Nodes, 2), max(o.Shards, 1)
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if _, err := os.Stat(zkServerScript); err != nil {
		return nil, ErrNoZooKeeper
	}
	dir := o.Dir
	for attempt := 1; ; attempt++ {
		c, err := startCluster(ctx, o, dir)
		if err == nil || attempt == 3 || ctx.Err() != nil {
			return c, err
		}
		o.Logger.Warn("test cluster did not start, starting it again on other ports", "attempt", attempt, "err", err)
		dir = filepath.Join(o.Dir, "retry"+strconv.Itoa(attempt))
	}
}

// freePorts picks a cluster's ports; tests replace it to hand out a port
// another process holds.
var freePorts = FreePorts

// startCluster is one attempt of StartCluster, in dir.
func startCluster(ctx context.Context, o ClusterOptions, dir string) (*Cluster, error) {
	start := time.Now()
	ports, err := freePorts(1 + 3*o.Nodes)
	if err != nil {
		return nil, err
	}
	c := &Cluster{Name: o.Name, AdminUser: "privaudit", AdminPassword: randomSecret()}
	if err := c.startZooKeeper(ctx, filepath.Join(dir, "zookeeper"), ports[0]); err != nil {
		return nil, err
	}
	shards := make([][]int, o.Shards)
	for i := range o.Nodes {
		shards[i%o.Shards] = append(shards[i%o.Shards], ports[1+3*i])
	}
	for i := range o.Nodes {
		dir := filepath.Join(dir, "node"+strconv.Itoa(i+1))
		if err := os.MkdirAll(filepath.Join(dir, "config.d"), 0o750); err != nil {
			c.Stop()
			return nil, fmt.Errorf("cluster node dir: %w", err)
		}
		err := writeTemplate(filepath.Join(dir, "config.d", "cluster.xml"), clusterTmpl, map[string]any{
			"InterPort": ports[3+3*i], "ZKPort": ports[0], "Shard": fmt.Sprintf("%02d", i%o.Shards+1),
			"Replica": i + 1, "Name": o.Name, "Shards": shards,
		})
		if err != nil {
			c.Stop()
			return nil, err
		}
		s, err := Start(ctx, Options{Dir: dir, Database: o.Database, Logger: o.Logger,
			Ports: ports[1+3*i : 3+3*i], AdminPassword: c.AdminPassword})
		if err != nil {
			c.Stop()
			return nil, fmt.Errorf("cluster node %d: %w", i+1, err)
		}
		c.Nodes = append(c.Nodes, s)
	}
	o.Logger.Info("test cluster started", "nodes", o.Nodes, "shards", o.Shards,
		"took", time.Since(start).Round(time.Millisecond))
	return c, nil
}

// Addrs are the nodes' native addresses, in node order.
func (c *Cluster) Addrs() []string {
	var out []string
	for _, s := range c.Nodes {
		out = append(out, s.Addr)
	}
	return out
}

func (c *Cluster) startZooKeeper(ctx context.Context, dir string, port int) error {
	if err := os.MkdirAll(filepath.Join(dir, "data"), 0o750); err != nil {
		return fmt.Errorf("zookeeper dir: %w", err)
	}
	cfg := fmt.Sprintf("tickTime=500\ninitLimit=10\nsyncLimit=5\ndataDir=%s\nclientPort=%d\n"+
		"clientPortAddress=127.0.0.1\nadmin.enableServer=false\n4lw.commands.whitelist=ruok\n",
		filepath.Join(dir, "data"), port)
	if err := os.WriteFile(filepath.Join(dir, "zoo.cfg"), []byte(cfg), 0o600); err != nil {
		return fmt.Errorf("zookeeper config: %w", err)
	}
	out, err := os.Create(filepath.Join(dir, "zookeeper.log"))
	if err != nil {
		return fmt.Errorf("zookeeper log: %w", err)
	}
	defer out.Close()
	cmd := exec.Command(zkServerScript, "start-foreground", filepath.Join(dir, "zoo.cfg"))
	cmd.Env = append(os.Environ(), "ZOOCFGDIR="+dir, "ZOO_LOG_DIR="+dir, "JVMFLAGS=-Xmx256m")
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start zookeeper: %w", err)
	}
	c.zk = cmd
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	deadline := time.Now().Add(60 * time.Second)
	for !zkOK(addr) {
		if time.Now().After(deadline) || ctx.Err() != nil {
			c.Stop()
			return fmt.Errorf("zookeeper did not answer on %s within 60s; see %s", addr, filepath.Join(dir, "zookeeper.log"))
		}
		time.Sleep(50 * time.Millisecond)
	}
	return nil
}

// zkOK asks ZooKeeper "ruok".
func zkOK(addr string) bool {
	conn, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return false
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := conn.Write([]byte("ruok")); err != nil {
		return false
	}
	b := make([]byte, 4)
	n, _ := conn.Read(b)
	return string(b[:n]) == "imok"
}

// Stop kills every node and ZooKeeper; the data goes with the directory.
func (c *Cluster) Stop() {
	for _, s := range c.Nodes {
		s.Kill()
	}
	if c.zk != nil && c.zk.Process != nil {
		_ = syscall.Kill(-c.zk.Process.Pid, syscall.SIGKILL)
		_ = c.zk.Wait()
		c.zk = nil
	}
}
