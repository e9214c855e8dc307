// Package chserver starts and stops privaudit's managed local ClickHouse
// server: the embedded default used when no ClickHouse address is configured
// (SPEC §5), and by the tests.
//
// The server runs as a child process with its configuration, data and logs
// under one directory, listens on loopback only on free ports, and has two
// users: an administrator used by privaudit itself and a read-only reader for
// ad-hoc SQL whose limits live in its settings profile, where a query cannot
// raise them.
package chserver

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// ErrNotInstalled is returned by Start when no clickhouse-server binary can be found.
var ErrNotInstalled = errors.New("clickhouse-server is not installed: install it (Debian: apt-get install clickhouse-server clickhouse-client, or run `make deps`) or configure an external server with PRIVAUDIT_CLICKHOUSE_ADDR")

// ReaderLimits are the limits of the read-only user, fixed in its settings
// profile so that no query can raise them.
type ReaderLimits struct {
	MaxExecutionTime time.Duration // default 30s
	MaxResultRows    int64         // default 1,000,000
	MaxResultBytes   int64         // default 1 GiB
	MaxMemoryUsage   int64         // default 2 GiB
	MaxRowsToRead    int64         // default 0: unlimited
}

// Options configure Start.
type Options struct {
	// Dir holds the server's config, data and logs; created if missing.
	Dir string
	// Binary is the clickhouse-server executable; empty means search PATH,
	// /usr/sbin and /usr/bin.
	Binary string
	// Database is created at start if it does not exist and is the only
	// database the reader may see. Default "privaudit".
	Database string
	// Limits of the read-only reader user.
	Limits ReaderLimits
	// StartTimeout bounds the wait for the server to answer. Default 30s.
	StartTimeout time.Duration
	Logger       *slog.Logger
	// Ports, when set, are the native and HTTP ports to listen on instead of
	// free ones picked at start (a cluster's nodes must know each other's).
	Ports []int
	// AdminPassword, when set, replaces the random administrator password
	// (a cluster's nodes share one).
	AdminPassword string
}

// Server is a running managed ClickHouse server.
type Server struct {
	// Addr is the native-protocol address (host:port) on loopback.
	Addr string
	// HTTPAddr is the HTTP interface address, used only by benchmarks.
	HTTPAddr string
	// AdminUser and AdminPassword authenticate privaudit itself.
	AdminUser, AdminPassword string
	// ReaderUser and ReaderPassword authenticate ad-hoc SQL (readonly=1).
	ReaderUser, ReaderPassword string
	// Database is the database holding privaudit's officer-visible tables.
	Database string
	// Dir is the server's directory.
	Dir string

	log *slog.Logger
	bin string

	// mu guards the current process, which Supervise replaces after a crash.
	mu       sync.Mutex
	cmd      *exec.Cmd
	done     chan struct{}
	waitErr  error
	sup      *supervisor
	restarts atomic.Uint64
}

// Start launches a managed clickhouse-server in opts.Dir and waits until it
// answers queries. A server left running by an earlier privaudit that was
// killed is stopped first. Stop the returned server when done.
func Start(ctx context.Context, opts Options) (*Server, error) {
	if err := opts.defaults(); err != nil {
		return nil, err
	}
	bin, err := findBinary(opts.Binary)
	if err != nil {
		return nil, err
	}
	for _, d := range []string{"data", "tmp", "logs", "user_files", "format_schemas"} {
		if err := os.MkdirAll(filepath.Join(opts.Dir, d), 0o750); err != nil {
			return nil, fmt.Errorf("clickhouse dir: %w", err)
		}
	}
	if s, err := Attach(opts.Dir); err == nil {
		opts.Logger.Info("using the managed clickhouse of a running privaudit", "addr", s.Addr)
		return s, nil
	}
	stopStale(opts.Dir, opts.Logger)
	// Fixed ports (a cluster node's, written into its peers' configuration)
	// would fail again the same way: their caller retries instead.
	attempts := 3
	if len(opts.Ports) == 2 {
		attempts = 1
	}
	var lastErr error
	for attempt := 0; attempt < attempts; attempt++ {
		s, err := launch(ctx, bin, opts)
		if err == nil {
			return s, nil
		}
		lastErr = err
		if ctx.Err() != nil || attempt+1 == attempts {
			break
		}
		opts.Logger.Warn("managed clickhouse did not start, retrying on other ports", "attempt", attempt+1, "err", err)
	}
	return nil, lastErr
}

func (o *Options) defaults() error {
	if o.Dir == "" {
		return errors.New("clickhouse: no directory given")
	}
	abs, err := filepath.Abs(o.Dir)
	if err != nil {
		return fmt.Errorf("clickhouse dir: %w", err)
	}
	o.Dir = abs
	if o.Database == "" {
		o.Database = "privaudit"
	}
	if o.StartTimeout <= 0 {
		o.StartTimeout = 30 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	l := &o.Limits
	if l.MaxExecutionTime <= 0 {
		l.MaxExecutionTime = 30 * time.Second
	}
	if l.MaxResultRows <= 0 {
		l.MaxResultRows = 1_000_000
	}
	if l.MaxResultBytes <= 0 {
		l.MaxResultBytes = 1 << 30
	}
	if l.MaxMemoryUsage <= 0 {
		l.MaxMemoryUsage = 2 << 30
	}
	return nil
}

func findBinary(name string) (string, error) {
	if name != "" {
		p, err := exec.LookPath(name)
		if err != nil {
			return "", fmt.Errorf("%w (looked for %q)", ErrNotInstalled, name)
		}
		return p, nil
	}
	if p, err := exec.LookPath("clickhouse-server"); err == nil {
		return p, nil
	}
	for _, p := range []string{"/usr/sbin/clickhouse-server", "/usr/bin/clickhouse-server"} {
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
			return p, nil
		}
	}
	return "", ErrNotInstalled
}

func launch(ctx context.Context, bin string, opts Options) (*Server, error) {
	ports := opts.Ports
	if len(ports) != 2 {
		var err error
		if ports, err = FreePorts(2); err != nil {
			return nil, err
		}
	}
	admin := opts.AdminPassword
	if admin == "" {
		admin = randomSecret()
	}
	s := &Server{
		Addr:           net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[0])),
		HTTPAddr:       net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[1])),
		AdminUser:      "privaudit",
		AdminPassword:  admin,
		ReaderUser:     "privaudit_reader",
		ReaderPassword: randomSecret(),
		Database:       opts.Database,
		Dir:            opts.Dir,
		done:           make(chan struct{}),
		log:            opts.Logger,
		bin:            bin,
	}
	if err := writeConfig(opts, s, ports); err != nil {
		return nil, err
	}
	out, err := os.OpenFile(filepath.Join(opts.Dir, "logs", "stdout.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o640)
	if err != nil {
		return nil, fmt.Errorf("clickhouse log: %w", err)
	}
	defer out.Close()
	cmd := exec.Command(bin, "--config-file="+filepath.Join(opts.Dir, "config.xml"))
	cmd.Dir = opts.Dir
	cmd.Stdout, cmd.Stderr = out, out
	// The child dies with us even on kill -9 (best effort: Linux only).
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM, Setpgid: true}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	s.cmd = cmd
	_ = os.WriteFile(filepath.Join(opts.Dir, "server.pid"), []byte(strconv.Itoa(cmd.Process.Pid)), 0o640)
	if err := s.writeState(); err != nil {
		_ = cmd.Process.Kill()
		return nil, err
	}
	go s.wait(cmd, s.done)
	if err := s.waitReady(ctx, opts); err != nil {
		_ = s.Stop(context.Background())
		return nil, err
	}
	opts.Logger.Info("managed clickhouse started", "addr", s.Addr, "pid", cmd.Process.Pid,
		"dir", opts.Dir, "took", time.Since(start).Round(time.Millisecond))
	return s, nil
}

// waitReady polls the native port until the server answers a handshake and
// creates the database.
func (s *Server) waitReady(ctx context.Context, opts Options) error {
	deadline := time.Now().Add(opts.StartTimeout)
	_, done := s.process()
	for {
		select {
		case <-done:
			return fmt.Errorf("clickhouse-server exited during start (%v); see %s", s.exitErr(), s.errLogHint())
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
		err := ping(ctx, s, "CREATE DATABASE IF NOT EXISTS "+quoteIdent(s.Database))
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("clickhouse-server did not answer within %s: %v; see %s", opts.StartTimeout, err, s.errLogHint())
		}
	}
}

func (s *Server) errLogHint() string {
	p := filepath.Join(s.Dir, "logs", "err.log")
	b, err := os.ReadFile(p)
	if err != nil || len(b) == 0 {
		return filepath.Join(s.Dir, "logs")
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return p + ": " + lines[len(lines)-1]
}

// Stop ends supervision, asks the server to shut down and waits for it;
// after ctx is done (or 20s without a deadline) it kills the process.
func (s *Server) Stop(ctx context.Context) error {
	if s == nil {
		return nil
	}
	s.endSupervision()
	cmd, done := s.process()
	if cmd == nil { // attached, not ours to stop
		return nil
	}
	select {
	case <-done:
		return nil
	default:
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	timer := time.NewTimer(20 * time.Second)
	defer timer.Stop()
	select {
	case <-done:
	case <-ctx.Done():
		_ = cmd.Process.Kill()
		<-done
	case <-timer.C:
		_ = cmd.Process.Kill()
		<-done
	}
	_ = os.Remove(filepath.Join(s.Dir, "server.pid"))
	_ = os.Remove(filepath.Join(s.Dir, stateFile))
	s.log.Info("managed clickhouse stopped", "addr", s.Addr)
	return nil
}

// Kill stops the server process abruptly (SIGKILL), as a crash would; a
// supervised server is then restarted. For tests.
func (s *Server) Kill() {
	if s == nil {
		return
	}
	cmd, done := s.process()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Kill()
	<-done
}

// Done is closed when the current server process has exited (Supervise
// starts a new one, with a new Done).
func (s *Server) Done() <-chan struct{} {
	_, done := s.process()
	return done
}

// Pid is the process id of the running server, for resource accounting.
func (s *Server) Pid() int {
	cmd, _ := s.process()
	return cmd.Process.Pid
}

// process returns the current server process and its exit channel.
func (s *Server) process() (*exec.Cmd, chan struct{}) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cmd, s.done
}

// wait reaps cmd, records its exit and closes done.
func (s *Server) wait(cmd *exec.Cmd, done chan struct{}) {
	err := cmd.Wait()
	s.mu.Lock()
	s.waitErr = err
	s.mu.Unlock()
	close(done)
}

func (s *Server) exitErr() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.waitErr
}

// stopStale stops a server that an earlier, killed privaudit left running on
// the same directory (it would hold the directory's lock).
func stopStale(dir string, log *slog.Logger) {
	b, err := os.ReadFile(filepath.Join(dir, "server.pid"))
	if err != nil {
		return
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 1 {
		return
	}
	comm, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil || !strings.Contains(string(comm), filepath.Join(dir, "config.xml")) {
		return
	}
	log.Warn("stopping a managed clickhouse left running by an earlier process", "pid", pid)
	_ = syscall.Kill(pid, syscall.SIGTERM)
	for i := 0; i < 200; i++ {
		if syscall.Kill(pid, 0) != nil {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	_ = syscall.Kill(pid, syscall.SIGKILL)
	time.Sleep(100 * time.Millisecond)
}

// FreePorts returns n distinct loopback TCP ports that were free a moment
// ago (the managed server's, and other loopback listeners privaudit starts).
func FreePorts(n int) ([]int, error) {
	ports := make([]int, 0, n)
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	for i := 0; i < n; i++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("find a free port: %w", err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

func randomSecret() string {
	b := make([]byte, 18)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func quoteIdent(s string) string {
	return "`" + strings.ReplaceAll(s, "`", "``") + "`"
}

// Restart stops the server and starts it again on the same directory, ports
// and credentials, so open clients reconnect to it. It ends supervision.
// For outage tests.
func (s *Server) Restart(ctx context.Context) error {
	if cmd, _ := s.process(); cmd == nil {
		return errors.New("clickhouse: cannot restart a server this process did not start")
	}
	if err := s.Stop(ctx); err != nil {
		return err
	}
	return s.relaunch(ctx)
}

// relaunch starts the server process again with the configuration already
// written; when it does not become ready, the process is killed.
func (s *Server) relaunch(ctx context.Context) error {
	bin := s.bin
	out, err := os.OpenFile(filepath.Join(s.Dir, "logs", "stdout.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o640)
	if err != nil {
		return fmt.Errorf("clickhouse log: %w", err)
	}
	defer out.Close()
	cmd := exec.Command(bin, "--config-file="+filepath.Join(s.Dir, "config.xml"))
	cmd.Dir = s.Dir
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM, Setpgid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", bin, err)
	}
	done := make(chan struct{})
	s.mu.Lock()
	s.cmd, s.done = cmd, done
	s.mu.Unlock()
	go s.wait(cmd, done)
	_ = os.WriteFile(filepath.Join(s.Dir, "server.pid"), []byte(strconv.Itoa(cmd.Process.Pid)), 0o640)
	err = s.writeState()
	if err == nil {
		err = s.waitReady(ctx, Options{StartTimeout: 30 * time.Second})
	}
	if err != nil {
		_ = cmd.Process.Kill()
		<-done
	}
	return err
}
