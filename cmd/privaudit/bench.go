package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"time"

	"github.com/privaudit/privaudit/audit/auth"
	"github.com/privaudit/privaudit/audit/chserver"
	"github.com/privaudit/privaudit/audit/ingest/ingestbench"
)

// bench measures ingest throughput through privaudit, sealing into the
// proof log on and off, next to a direct INSERT … FORMAT JSONEachRow into
// the same managed ClickHouse. The privaudit server it measures runs as a
// process of its own (`privaudit serve` on loopback), as it is deployed:
// the benchmark's data generation and clients neither share its memory nor
// hide in its CPU time. Each privaudit phase starts its own server.
func (m *Main) bench(ctx context.Context, args []string) error {
	if len(args) > 0 && args[0] == "reports" {
		return m.benchReports(ctx, args[1:])
	}
	if len(args) > 0 && args[0] == "verify" {
		return m.benchVerify(ctx, args[1:])
	}
	var events, rounds int
	var cpuprofile, serverBinary string
	var keepTree bool
	fs, err := m.parse("bench", args, func(fs *flag.FlagSet) {
		fs.IntVar(&events, "events", 1_000_000, "events to insert on each path, per round")
		fs.IntVar(&rounds, "rounds", 5, "rounds, each starting with another of the four paths; medians are reported")
		fs.StringVar(&cpuprofile, "cpuprofile", "", "write a CPU profile of the last round's sealed privaudit server to this file (the unsealed one's to FILE.unsealed)")
		fs.BoolVar(&keepTree, "keep-tree", false, "keep the proof log over the rounds, so each sealed phase appends to the tree the earlier ones grew (default: every phase starts from an empty one)")
		fs.StringVar(&serverBinary, "server-binary", "", "privaudit binary to run the measured server with (default: this one)")
	})
	if err != nil {
		return err
	}
	st, tok, err := m.prepareBench(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	so := benchServerOptions{binary: serverBinary, config: fs.Lookup("config").Value.String(), cpuprofile: cpuprofile}
	ch := st.Managed
	res, err := ingestbench.Run(ctx, ingestbench.Target{Conn: st.Conn, HTTPAddr: ch.HTTPAddr, User: ch.AdminUser, Password: ch.AdminPassword, ServerPid: ch.Pid()},
		ingestbench.Options{Events: events, Seed: 1, Token: tok, Rounds: rounds, KeepTree: keepTree, Log: m.Stderr,
			StartPrivaudit: func(ctx context.Context, sealed bool) (ingestbench.Privaudit, error) {
				return m.startSealedBenchServer(ctx, st, so, sealed)
			}})
	if err != nil {
		return err
	}
	printBench(m.Stdout, res)
	return nil
}

// startSealedBenchServer starts the bench server with sealing on or off,
// whatever the configuration says.
func (m *Main) startSealedBenchServer(ctx context.Context, st *storage, o benchServerOptions, sealed bool) (ingestbench.Privaudit, error) {
	o.env = []string{"PRIVAUDIT_PROOF_ENABLED=" + strconv.FormatBool(sealed)}
	if !sealed && o.cpuprofile != "" {
		o.cpuprofile += ".unsealed"
	}
	srv, err := m.startBenchServer(ctx, st, o)
	if err != nil {
		return ingestbench.Privaudit{}, err
	}
	return ingestbench.Privaudit{URL: srv.url, Pid: srv.cmd.Process.Pid, Stop: srv.stop}, nil
}

// startBench prepares the benchmark's storage (prepareBench) and starts the
// privaudit server the benchmark sends to. The caller closes the storage
// and stops the server.
func (m *Main) startBench(ctx context.Context, o benchServerOptions) (*storage, *benchServer, string, error) {
	st, tok, err := m.prepareBench(ctx)
	if err != nil {
		return nil, nil, "", err
	}
	srv, err := m.startBenchServer(ctx, st, o)
	if err != nil {
		st.Close()
		return nil, nil, "", err
	}
	return st, srv, tok, nil
}

// prepareBench opens the benchmark's managed ClickHouse, which must hold no
// events yet, and creates an ingest token. The caller closes the storage.
func (m *Main) prepareBench(ctx context.Context) (*storage, string, error) {
	if len(m.Config.ClickHouse.Addr) > 0 {
		return nil, "", errors.New("bench runs on the managed ClickHouse only: unset clickhouse.addr and use a scratch --data-dir")
	}
	st, err := m.openStorage(ctx)
	if err != nil {
		return nil, "", err
	}
	fail := func(err error) (*storage, string, error) { st.Close(); return nil, "", err }
	if ev, _, err := storedCounts(ctx, st.Conn, m.Config.Schema()); err != nil {
		return fail(err)
	} else if ev > 0 {
		// Resent events would be skipped as duplicates and the figure would lie.
		return fail(fmt.Errorf("bench needs an empty data directory: %s already holds %d events (use a scratch --data-dir)", m.Config.DataDir, ev))
	}
	tokens, err := auth.NewStore(st.Conn, m.Config.Schema(), m.Log)
	if err != nil {
		return fail(err)
	}
	tok, err := tokens.Create(ctx, "bench", auth.RoleIngest)
	if err != nil {
		return fail(err)
	}
	return st, tok, nil
}

// benchServer is the `privaudit serve` child process the benchmark measures.
type benchServer struct {
	cmd    *exec.Cmd
	url    string
	exited chan struct{} // closed when the process has exited
	err    error         // its exit status, once exited is closed
}

type benchServerOptions struct {
	binary, config, cpuprofile string
	env                        []string // added to the server's environment, overriding
}

// startBenchServer starts `privaudit serve` on a free loopback port, writing
// into st's managed ClickHouse with the benchmark's data directory and
// configuration, and waits until it answers /healthz.
func (m *Main) startBenchServer(ctx context.Context, st *storage, o benchServerOptions) (*benchServer, error) {
	if o.binary == "" {
		exe, err := os.Executable()
		if err != nil {
			return nil, fmt.Errorf("find the privaudit binary for the bench server: %w (pass --server-binary)", err)
		}
		o.binary = exe
	}
	ports, err := chserver.FreePorts(1)
	if err != nil {
		return nil, fmt.Errorf("bench server: %w", err)
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[0]))
	args := []string{"serve", "--listen", addr, "--data-dir", m.Config.DataDir, "--log-level", m.Config.LogLevel}
	if o.config != "" {
		args = append(args, "--config", o.config)
	}
	if o.cpuprofile != "" {
		args = append(args, "--cpuprofile", o.cpuprofile)
	}
	ch := st.Managed
	cmd := exec.Command(o.binary, args...)
	cmd.Env = append(os.Environ(), "PRIVAUDIT_CLICKHOUSE_ADDR="+ch.Addr, "PRIVAUDIT_CLICKHOUSE_USER="+ch.AdminUser,
		"PRIVAUDIT_CLICKHOUSE_PASSWORD="+ch.AdminPassword, "PRIVAUDIT_CLICKHOUSE_READER_USER="+ch.ReaderUser,
		"PRIVAUDIT_CLICKHOUSE_READER_PASSWORD="+ch.ReaderPassword)
	cmd.Env = append(cmd.Env, o.env...)
	cmd.Stdout, cmd.Stderr = m.Stderr, m.Stderr
	// Should the benchmark die, the server stops too (its spool is in the
	// scratch data directory).
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start the bench server %s: %w", o.binary, err)
	}
	s := &benchServer{cmd: cmd, url: "http://" + addr, exited: make(chan struct{})}
	go func() { s.err = cmd.Wait(); close(s.exited) }()
	if err := s.waitHealthy(ctx, 30*time.Second); err != nil {
		_ = s.stop()
		return nil, err
	}
	return s, nil
}

// waitHealthy polls /healthz until the server answers 200.
func (s *benchServer) waitHealthy(ctx context.Context, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.url+"/healthz", nil)
		if err != nil {
			return err
		}
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-s.exited:
			return fmt.Errorf("the bench server exited before it answered (%v); its log is above", s.err)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the bench server did not answer %s/healthz within %s; its log is above", s.url, limit)
		}
	}
}

// stop shuts the server down gracefully (SIGTERM), killing it if it has
// not exited within a minute; it returns an error if the server failed.
// Calling it again only reports the same result.
func (s *benchServer) stop() error {
	select {
	case <-s.exited:
		return s.exitErr()
	default:
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(time.Minute):
		_ = s.cmd.Process.Kill()
		<-s.exited
	}
	return s.exitErr()
}

func (s *benchServer) exitErr() error {
	if s.err != nil {
		return fmt.Errorf("bench server: %w", s.err)
	}
	return nil
}

// printBench writes the benchmark's medians and ratios.
func printBench(w io.Writer, res ingestbench.Result) {
	med := res.Median
	fmt.Fprintf(w, "ingest benchmark, %d events per path and round, %d rounds (%.0f bytes/event on the wire); medians:\n",
		res.Events, len(res.Rounds), float64(res.WireBytes)/float64(res.Events))
	line := func(label string, p ingestbench.Phase, priv bool) {
		self, server, privaudit := p.CPU.PerEvent(res.Events)
		fmt.Fprintf(w, "  %-42s: %8.0f events/s (%.2fs; %.2fs merges settled), CPU/event %.2f µs ClickHouse",
			label, p.PerSec, p.Seconds, p.SettledSeconds, server)
		if priv {
			fmt.Fprintf(w, " + %.2f µs privaudit server", privaudit)
		}
		fmt.Fprintf(w, " + %.2f µs sender\n", self)
	}
	line("direct, one INSERT … FORMAT JSONEachRow", med.One, false)
	line("direct, 100k-row INSERTs, 2 at a time", med.Parallel, false)
	line("privaudit HTTP→spool (fsync)→ClickHouse", med.Priv, true)
	line("privaudit, the same with sealing off", med.Unsealed, true)
	ratios := func(label string, med ingestbench.Ratios, to func(ingestbench.Round) ingestbench.Phase) {
		fmt.Fprintf(w, "  %-42s: %.2f× (rounds:", label, med.PerSec)
		for _, r := range res.Rounds {
			fmt.Fprintf(w, " %.2f", r.RatioTo(to(r)).PerSec)
		}
		fmt.Fprintf(w, "); merges settled %.2f× (rounds:", med.Settled)
		for _, r := range res.Rounds {
			fmt.Fprintf(w, " %.2f", r.RatioTo(to(r)).Settled)
		}
		fmt.Fprintln(w, ")")
	}
	ratios("ratio privaudit / one INSERT", res.ToOne, func(r ingestbench.Round) ingestbench.Phase { return r.One })
	ratios("ratio privaudit / parallel INSERTs", res.ToParallel, func(r ingestbench.Round) ingestbench.Phase { return r.Parallel })
	printSealing(w, res)
}

// sealingBudget is the share of ingest throughput sealing may cost (issue 18).
const sealingBudget = 0.10

// printSealing writes what sealing into the proof log costs: the median
// over the rounds of 1 − sealed/unsealed events per second, the privaudit
// server's CPU per event both ways, and the leaves each phase left.
func printSealing(w io.Writer, res ingestbench.Result) {
	verdict := "met"
	if res.SealingCost > sealingBudget {
		verdict = "NOT MET"
	}
	fmt.Fprintf(w, "  %-42s: %.1f%% (rounds:", "sealing cost, 1 − sealed/unsealed events/s", 100*res.SealingCost)
	for _, r := range res.Rounds {
		fmt.Fprintf(w, " %.1f%%", 100*r.SealingCost())
	}
	_, _, sealedCPU := res.Median.Priv.CPU.PerEvent(res.Events)
	_, _, unsealedCPU := res.Median.Unsealed.CPU.PerEvent(res.Events)
	fmt.Fprintf(w, "); ≤ %.0f%%: %s; privaudit server CPU/event %.2f µs sealed, %.2f µs unsealed\n",
		100*sealingBudget, verdict, sealedCPU, unsealedCPU)
	fmt.Fprintf(w, "  %-42s: %.1f%% (rounds:", "the same from CPU/event, ClickHouse+server", 100*res.CPUSealingCost)
	for _, r := range res.Rounds {
		fmt.Fprintf(w, " %.1f%%", 100*r.CPUSealingCost())
	}
	fmt.Fprintln(w, "): what sealing costs where ingest has the cores to itself")
	fmt.Fprintf(w, "  %-42s:", "proof-log leaves added, sealed/unsealed")
	for _, r := range res.Rounds {
		fmt.Fprintf(w, " %d/%d", r.Leaves, r.UnsealedLeaves)
	}
	tree := "each phase starts from an empty proof log"
	if n := len(res.Rounds); res.KeepTree && n > 0 {
		tree = fmt.Sprintf("proof log kept over the rounds: the last sealed phase started with %d leaves", res.Rounds[n-1].TreeSize)
	}
	fmt.Fprintf(w, " (one leaf per event sealed, none unsealed; %s)\n", tree)
}
