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
		fs.IntVar(&rounds, "rounds", 3, "alternating rounds of both paths; medians are reported")
		fs.StringVar(&cpuprofile, "cpuprofile", "", "write a CPU profile of the privaudit phase to this file")
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
	med := res.Median
	fmt.Fprintf(m.Stdout, "ingest benchmark, %d events per path and round, %d rounds (%.0f bytes/event on the wire); medians:\n",
		res.Events, len(res.Rounds), float64(res.WireBytes)/float64(res.Events))
	fmt.Fprintf(m.Stdout, "  direct INSERT FORMAT JSONEachRow : %8.0f events/s (%.2fs)\n", med.DirectPerSec, med.DirectSeconds)
	fmt.Fprintf(m.Stdout, "  privaudit HTTP→spool→ClickHouse  : %8.0f events/s (%.2fs), durability on\n", med.PrivPerSec, med.PrivSeconds)
	ratios := func(label string, med float64, of func(ingestbench.Round) float64) {
		fmt.Fprintf(m.Stdout, "  %-33s: %.2f× (rounds:", label, med)
		for _, r := range res.Rounds {
			fmt.Fprintf(m.Stdout, " %.2f", of(r))
		}
		fmt.Fprintln(m.Stdout, ")")
	}
	ratios("ratio privaudit/direct", med.Ratio, func(r ingestbench.Round) float64 { return r.Ratio })
	ratios("ratio with merges settled", med.SettledRatio, func(r ingestbench.Round) float64 { return r.SettledRatio })
	ds, dc := med.DirectCPU.PerEvent(res.Events)
	ps, pc := med.PrivCPU.PerEvent(res.Events)
	fmt.Fprintf(m.Stdout, "  CPU per event, direct            : %.2f µs in ClickHouse, %.2f µs in the sending process (merges settled)\n", dc, ds)
	fmt.Fprintf(m.Stdout, "  CPU per event, privaudit         : %.2f µs in ClickHouse, %.2f µs in privaudit (its benchmark client included; merges settled)\n", pc, ps)
	return nil
}
