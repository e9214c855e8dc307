package chserver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

const stateFile = "server.json"

type state struct {
	Pid                        int
	Addr, HTTPAddr, Database   string
	AdminUser, AdminPassword   string
	ReaderUser, ReaderPassword string
}

// writeState records how to reach the running server (readable by the owner
// only), so other privaudit commands on the same data directory, such as
// `token create` while `serve` runs, use it instead of starting another.
func (s *Server) writeState() error {
	cmd, _ := s.process()
	st := state{Pid: cmd.Process.Pid, Addr: s.Addr, HTTPAddr: s.HTTPAddr, Database: s.Database,
		AdminUser: s.AdminUser, AdminPassword: s.AdminPassword, ReaderUser: s.ReaderUser, ReaderPassword: s.ReaderPassword}
	b, err := json.Marshal(st)
	if err != nil {
		return err
	}
	p := filepath.Join(s.Dir, stateFile)
	if err := os.WriteFile(p+".tmp", b, 0o600); err != nil {
		return fmt.Errorf("write clickhouse state: %w", err)
	}
	return os.Rename(p+".tmp", p)
}

// Attach returns the managed server running in dir on behalf of another live
// privaudit process. Stop on an attached server does nothing: its owner stops
// it. It fails when no such server runs.
func Attach(dir string) (*Server, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	b, err := os.ReadFile(filepath.Join(abs, stateFile))
	if err != nil {
		return nil, err
	}
	var st state
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, fmt.Errorf("read clickhouse state: %w", err)
	}
	if !ownedByLiveParent(st.Pid, abs) {
		return nil, errors.New("no live managed clickhouse")
	}
	s := &Server{Addr: st.Addr, HTTPAddr: st.HTTPAddr, Database: st.Database, Dir: abs,
		AdminUser: st.AdminUser, AdminPassword: st.AdminPassword, ReaderUser: st.ReaderUser, ReaderPassword: st.ReaderPassword,
		done: make(chan struct{})}
	if err := ping(context.Background(), s, "SELECT 1"); err != nil {
		return nil, err
	}
	return s, nil
}

// ownedByLiveParent reports whether pid is our clickhouse-server for dir and
// its parent (the privaudit that started it) is still alive.
func ownedByLiveParent(pid int, dir string) bool {
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil || !strings.Contains(string(cmdline), filepath.Join(dir, "config.xml")) {
		return false
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// Fields after the ")" that closes the command name: state, ppid, …
	i := strings.LastIndexByte(string(stat), ')')
	f := strings.Fields(string(stat[i+1:]))
	if len(f) < 2 {
		return false
	}
	ppid, err := strconv.Atoi(f[1])
	if err != nil || ppid <= 1 {
		return false
	}
	comm, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", ppid))
	return err == nil && !strings.HasPrefix(string(comm), "systemd")
}
