package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net/http"
	"path/filepath"
	"time"

	"github.com/privaudit/privaudit/audit/auth"
	"github.com/privaudit/privaudit/audit/ingest"
	"github.com/privaudit/privaudit/audit/store"
	"github.com/privaudit/privaudit/queries"
	"github.com/privaudit/privaudit/reports"
	"github.com/privaudit/privaudit/reports/schedule"
	"github.com/privaudit/privaudit/reports/sqlconsole"
	"github.com/privaudit/privaudit/reports/verify"
)

// mountOfficerAPI adds the officer endpoints — the report catalog and
// downloads, the schedules and their runs, ad-hoc and saved queries over the
// readonly reader connection — and starts the scheduler.
func (m *Main) mountOfficerAPI(ctx context.Context, s *server, mux *http.ServeMux) error {
	officer := func(h http.Handler) http.Handler { return s.tokens.Require(m.Log, h, auth.RoleOfficer) }
	runner, err := reports.NewRunner(reports.Options{Conn: s.st.Conn, Schema: m.Config.Schema(),
		Recorder: s.ingestor.Record, Fresh: verdictsFresh(s.ingestor), NoProof: !m.Config.Proof.Enabled, Version: version, Logger: m.Log})
	if err != nil {
		return err
	}
	s.reports = runner
	reports.Routes(mux, runner, s.tokens, m.Log)
	check, err := verify.NewJob(verify.JobOptions{Conn: s.st.Conn, Schema: m.Config.Schema(), Registerer: s.metrics, Logger: m.Log,
		Settle: s.ingestor.WaitVerdicts})
	if err != nil {
		return err
	}
	sch, err := schedule.New(schedule.Options{Runner: runner, Conn: s.st.Conn, Schema: m.Config.Schema(),
		Schedules: m.Config.Schedules, OutputRoot: filepath.Join(m.Config.DataDir, "reports"), Logger: m.Log,
		Verify: check.Run, PublicURL: m.Config.PublicURL, Registerer: s.metrics})
	if err != nil {
		return err
	}
	sch.Routes(mux, officer)
	if err := sch.Start(ctx); err != nil {
		return fmt.Errorf("start scheduler: %w", err)
	}
	s.scheduler = sch
	if s.st.ReaderUser == "" {
		m.Log.Warn("ad-hoc SQL disabled: no readonly reader configured (clickhouse.reader_user); see README")
		return nil
	}
	ro := store.Options{Addrs: s.st.Addrs, User: s.st.ReaderUser, Password: s.st.ReaderPassword,
		Database: m.Config.ClickHouse.Database, MaxOpenConns: m.Config.Query.Slots,
		// clickhouse-go logs query text with bound values at debug level: never for officers' queries.
		Logger: slog.New(slog.DiscardHandler)}
	if m.Config.ClickHouse.TLS {
		ro.TLS = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	rc, err := store.Open(ctx, ro)
	if err != nil {
		return fmt.Errorf("reader connection: %w", err)
	}
	s.reader = rc
	qrunner := queries.NewRunner(rc, queries.RunnerOptions{})
	if err := qrunner.CheckReader(ctx, m.Config.Schema()); err != nil {
		return fmt.Errorf("reader user is not safe for ad-hoc SQL: %w", err)
	}
	console, err := sqlconsole.New(sqlconsole.Options{Runner: qrunner, Schema: m.Config.Schema(),
		Record: s.ingestor.Record, WaitVerdicts: s.ingestor.WaitVerdicts, Version: version, Logger: m.Log,
		MaxQueries: m.Config.Query.Slots, MaxQueriesPerToken: m.Config.Query.SlotsPerToken})
	if err != nil {
		return err
	}
	console.Routes(mux, officer)
	s.queries = console
	return nil
}

// verdictsFresh is the reports' wait for the verdict store: the ingestor's
// WaitVerdicts, whose time is the ledger position the run states.
func verdictsFresh(in *ingest.Ingestor) reports.FreshFunc {
	return func(ctx context.Context, _ time.Time) (reports.LedgerPosition, error) {
		at, err := in.WaitVerdicts(ctx)
		if err != nil {
			return reports.LedgerPosition{}, err
		}
		return reports.LedgerPosition{Through: at}, nil
	}
}
