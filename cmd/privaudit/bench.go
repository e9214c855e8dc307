package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/privaudit/privaudit/audit/auth"
	"github.com/privaudit/privaudit/audit/ingest/ingestbench"
)

// bench measures ingest throughput through privaudit next to a direct
// INSERT … FORMAT JSONEachRow into the same managed ClickHouse.
func (m *Main) bench(ctx context.Context, args []string) error {
	var events, rounds int
	var cpuprofile string
	if _, err := m.parse("bench", args, func(fs *flag.FlagSet) {
		fs.IntVar(&events, "events", 1_000_000, "events to insert on each path, per round")
		fs.IntVar(&rounds, "rounds", 5, "rounds, each starting with another of the three paths; medians are reported")
		fs.StringVar(&cpuprofile, "cpuprofile", "", "write a CPU profile of the last round's privaudit phase to this file")
	}); err != nil {
		return err
	}
	var profile io.Writer
	if cpuprofile != "" {
		f, err := os.Create(cpuprofile)
		if err != nil {
			return err
		}
		defer f.Close()
		profile = f
	}
	if len(m.Config.ClickHouse.Addr) > 0 {
		return errors.New("bench runs on the managed ClickHouse only: unset clickhouse.addr and use a scratch --data-dir")
	}
	m.Config.Listen = "127.0.0.1:0"
	srv, err := m.startServer(ctx)
	if err != nil {
		return err
	}
	defer srv.Shutdown()
	if ev, _, err := storedCounts(ctx, srv, m.Config.Schema()); err != nil {
		return err
	} else if ev > 0 {
		// Resent events would be skipped as duplicates and the figure would lie.
		return fmt.Errorf("bench needs an empty data directory: %s already holds %d events (use a scratch --data-dir)", m.Config.DataDir, ev)
	}
	tok, err := srv.tokens.Create(ctx, "bench", auth.RoleIngest)
	if err != nil {
		return err
	}
	ch := srv.st.Managed
	res, err := ingestbench.Run(ctx, ingestbench.Target{Conn: srv.st.Conn, HTTPAddr: ch.HTTPAddr, User: ch.AdminUser, Password: ch.AdminPassword, ServerPid: ch.Pid()},
		ingestbench.Options{Events: events, Seed: 1, URL: srv.URL, Token: tok, WaitStored: srv.ingestor.WaitStored, Rounds: rounds, Log: m.Stderr, CPUProfile: profile})
	if err != nil {
		return err
	}
	printBench(m.Stdout, res)
	return nil
}

// printBench writes the benchmark's medians and ratios.
func printBench(w io.Writer, res ingestbench.Result) {
	med := res.Median
	fmt.Fprintf(w, "ingest benchmark, %d events per path and round, %d rounds (%.0f bytes/event on the wire); medians:\n",
		res.Events, len(res.Rounds), float64(res.WireBytes)/float64(res.Events))
	line := func(label string, p ingestbench.Phase, what string) {
		self, server := p.CPU.PerEvent(res.Events)
		fmt.Fprintf(w, "  %-42s: %8.0f events/s (%.2fs; %.2fs merges settled), CPU/event %.2f µs ClickHouse + %.2f µs %s\n",
			label, p.PerSec, p.Seconds, p.SettledSeconds, server, self, what)
	}
	line("direct, one INSERT … FORMAT JSONEachRow", med.One, "sender")
	line("direct, 100k-row INSERTs, 2 at a time", med.Parallel, "sender")
	line("privaudit HTTP→spool (fsync)→ClickHouse", med.Priv, "privaudit and its bench client")
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
}
