package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/privaudit/privaudit/audit"
	"github.com/privaudit/privaudit/audit/auth"
	"github.com/privaudit/privaudit/audit/synth"
	"github.com/privaudit/privaudit/queries"
)

func (m *Main) demo(ctx context.Context, args []string) error {
	var customers, events int
	if _, err := m.parse("demo", args, func(fs *flag.FlagSet) {
		fs.IntVar(&customers, "customers", 20000, "customers in the synthetic data set")
		fs.IntVar(&events, "events", 300000, "access events in the month")
	}); err != nil {
		return err
	}
	m.Config.Listen = "127.0.0.1:0"
	out := m.Stdout
	fmt.Fprintf(out, "== privaudit demo (data in %s)\n", m.Config.DataDir)
	srv, err := m.startServer(ctx)
	if err != nil {
		return err
	}
	defer srv.Shutdown()
	fmt.Fprintf(out, "1. serving on %s with a managed ClickHouse\n", srv.URL)
	tok, err := srv.tokens.Create(ctx, "demo-ingest", auth.RoleIngest)
	if err != nil {
		return err
	}
	dir := filepath.Join(m.Config.DataDir, "demo-input")
	now := time.Now().UTC()
	o := synth.Options{Seed: 42, Customers: customers, Events: events, Now: now}
	start := time.Now()
	stats, err := generateFiles(ctx, dir, o)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "2. generated the bank ↔ messaging platform story: %d events, %d consent events (%s)\n",
		stats.Events, stats.Consents, time.Since(start).Round(time.Millisecond))
	m.Config.Server, m.Config.Token = srv.URL, tok
	start = time.Now()
	for _, k := range []audit.Kind{audit.KindConsents, audit.KindEvents} {
		sum, err := m.send(ctx, k, []string{filepath.Join(dir, string(k)+".ndjson")}, 4)
		if err != nil {
			return fmt.Errorf("ingest %s: %w", k, err)
		}
		fmt.Fprintf(out, "3. sent %s through POST /v1/%s: %d accepted, %d rejected\n", k, k, sum.Accepted, sum.Rejected)
	}
	wctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	if err := srv.ingestor.WaitStored(wctx); err != nil {
		return err
	}
	took := time.Since(start)
	ev, cs, err := storedCounts(ctx, srv, m.Config.Schema())
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "4. stored in ClickHouse: %d access events, %d consent events in %s (%.0f records/s through HTTP → spool → ClickHouse)\n",
		ev, cs, took.Round(time.Millisecond), float64(ev+cs)/took.Seconds())
	if int(ev) != stats.Events || int(cs) != stats.Consents {
		fmt.Fprintln(os.Stderr, "warning: stored counts differ from generated counts")
		return fmt.Errorf("stored %d/%d, generated %d/%d", ev, cs, stats.Events, stats.Consents)
	}
	return nil
}

func storedCounts(ctx context.Context, srv *server, s queries.Schema) (events, consents uint64, err error) {
	q, err := queries.Ingest("counts", s)
	if err != nil {
		return 0, 0, err
	}
	err = srv.st.Conn.QueryRow(ctx, q).Scan(&events, &consents)
	return events, consents, err
}
