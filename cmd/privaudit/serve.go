package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime/pprof"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/privaudit/privaudit/audit/auth"
	"github.com/privaudit/privaudit/audit/chserver"
	"github.com/privaudit/privaudit/audit/ingest"
	"github.com/privaudit/privaudit/audit/store"
	"github.com/privaudit/privaudit/reports"
	"github.com/privaudit/privaudit/reports/console"
	"github.com/privaudit/privaudit/reports/schedule"
	"github.com/privaudit/privaudit/reports/sqlconsole"
)

// server is a running `privaudit serve`: storage, intake and HTTP.
type server struct {
	st       *storage
	tokens   *auth.Store
	ingestor *ingest.Ingestor
	http     *http.Server
	ln       net.Listener
	reader   driver.Conn // readonly connection for ad-hoc SQL
	reports  *reports.Runner
	// scheduler runs the configured schedules; it records runs through the
	// ingestor, so it stops first.
	scheduler *schedule.Scheduler
	// console is the officers' web console.
	console *console.Console
	// queries is the guarded ad-hoc SQL runner (POST /v1/query), nil
	// without a reader; the console's Query page runs through it.
	queries *sqlconsole.Console
	// stopRetention stops the retention job (startRetention).
	stopRetention func()
	// metrics is /metrics' registry.
	metrics prometheus.Registerer
	// stopCheckpoints ends the proof log's checkpointer.
	stopCheckpoints context.CancelFunc
	// checkpointer signs the proof log's checkpoints; nil when sealing is off.
	checkpointer *ingest.Checkpointer
	URL          string
}

func (m *Main) serve(ctx context.Context, args []string) error {
	var cpuprofile string
	if _, err := m.parse("serve", args, func(fs *flag.FlagSet) {
		fs.StringVar(&m.Config.Listen, "listen", m.Config.Listen, "HTTP listen address [PRIVAUDIT_LISTEN]")
		fs.StringVar(&cpuprofile, "cpuprofile", "", "write a CPU profile of this run to this file (performance work)")
	}); err != nil {
		return err
	}
	if cpuprofile != "" {
		stop, err := startCPUProfile(cpuprofile)
		if err != nil {
			return err
		}
		defer stop()
	}
	srv, err := m.startServer(ctx)
	if err != nil {
		return err
	}
	m.Log.Info("privaudit serving", "url", srv.URL, "version", version)
	select {
	case <-ctx.Done():
	case <-srv.st.Lease.Lost():
		m.Log.Error("another instance took the writer lease; shutting down")
		return errors.Join(srv.Shutdown(), errors.New("writer lease lost to another privaudit instance"))
	}
	m.Log.Info("shutting down: no new requests; flushing the spool")
	return srv.Shutdown()
}

// startServer opens storage and the spools, starts the writers and serves
// HTTP on the configured address until Shutdown.
func (m *Main) startServer(ctx context.Context) (*server, error) {
	st, err := m.openStorage(ctx)
	if err != nil {
		return nil, err
	}
	s := &server{st: st}
	instance := ingest.NewInstanceID()
	if err := m.takeLease(ctx, st, instance); err != nil {
		st.Close()
		return nil, err
	}
	if err := store.BackfillVerdicts(ctx, store.BackfillOptions{Conn: st.Conn, Schema: m.Config.Schema(), Logger: m.Log}); err != nil {
		st.Close()
		return nil, err
	}
	if s.tokens, err = auth.NewStore(st.Conn, m.Config.Schema(), m.Log); err != nil {
		st.Close()
		return nil, err
	}
	if err := s.tokens.Load(ctx); err != nil {
		st.Close()
		return nil, fmt.Errorf("load tokens: %w", err)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	s.metrics = reg
	if st.Managed != nil {
		st.Managed.Supervise(chserver.SuperviseOptions{})
		reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "privaudit_clickhouse_restarts_total",
			Help: "Restarts of the managed ClickHouse after it exited unexpectedly."}, func() float64 { return float64(st.Managed.Restarts()) }))
	}
	ic := m.Config.Ingest
	s.ingestor, err = ingest.Open(ctx, ingest.Options{
		SpoolDir: filepath.Join(m.Config.DataDir, "spool"), SpoolMaxBytes: ic.SpoolMaxBytes,
		MaxBodyBytes: ic.MaxBodyBytes, MaxDecompressedBytes: ic.MaxDecompressedBytes, MaxInFlightBytes: ic.MaxInFlightBytes, RetryAfter: ic.RetryAfter, BatchRecords: ic.BatchRecords, Linger: ic.Linger,
		Conn: st.Conn, Schema: m.Config.Schema(), Registerer: reg, Logger: m.Log, Instance: instance,
		NoProof: !m.Config.Proof.Enabled,
	})
	if err != nil {
		st.Close()
		return nil, err
	}
	s.ingestor.Start()
	var cpCtx context.Context
	cpCtx, s.stopCheckpoints = context.WithCancel(context.Background())
	if err := m.startCheckpoints(cpCtx, s, reg); err != nil {
		_ = s.Shutdown()
		return nil, err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		fmt.Fprintln(w, "ok")
	})
	mux.Handle("GET /readyz", s.ingestor.ReadyHandler())
	mux.Handle("GET /metrics", s.tokens.Require(m.Log, promhttp.HandlerFor(reg, promhttp.HandlerOpts{}), auth.RoleAdmin, auth.RoleOfficer))
	s.ingestor.Routes(mux, func(h http.Handler) http.Handler { return s.tokens.Require(m.Log, h, auth.RoleIngest) })
	if err := m.mountOfficerAPI(ctx, s, mux); err != nil {
		_ = s.Shutdown()
		return nil, err
	}
	if err := m.startRetention(ctx, s, mux, instance); err != nil {
		_ = s.Shutdown()
		return nil, err
	}
	if err := m.mountConsole(s, mux); err != nil {
		_ = s.Shutdown()
		return nil, err
	}
	if err := s.listen(m, mux); err != nil {
		_ = s.Shutdown()
		return nil, err
	}
	return s, nil
}

func (s *server) listen(m *Main, h http.Handler) error {
	ln, err := net.Listen("tcp", m.Config.Listen)
	if err != nil {
		return fmt.Errorf("listen %s: %w", m.Config.Listen, err)
	}
	s.ln = ln
	scheme := "http"
	if m.Config.TLSCert != "" {
		scheme = "https"
	}
	s.URL = scheme + "://" + ln.Addr().String()
	s.http = newHTTPServer(m.Config.HTTP, h)
	warnPlainHTTP(m.Log, ln.Addr(), scheme)
	go func() {
		var err error
		if m.Config.TLSCert != "" {
			err = s.http.ServeTLS(ln, m.Config.TLSCert, m.Config.TLSKey)
		} else {
			err = s.http.Serve(ln)
		}
		if err != nil && !errors.Is(err, http.ErrServerClosed) {
			m.Log.Error("http server", "err", err)
		}
	}()
	return nil
}

// Shutdown stops accepting requests, waits for those in flight, flushes the
// spool to ClickHouse within a bounded time with a fresh context, and stops
// the managed server. What could not be flushed stays in the spool.
func (s *server) Shutdown() error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var errs []error
	if s.stopCheckpoints != nil {
		s.stopCheckpoints()
	}
	if s.http != nil {
		errs = append(errs, s.http.Shutdown(ctx))
	}
	if s.scheduler != nil {
		errs = append(errs, s.scheduler.Stop(ctx))
	}
	if s.stopRetention != nil {
		s.stopRetention()
	}
	if s.ingestor != nil {
		errs = append(errs, s.ingestor.Close(ctx))
	}
	if s.reader != nil {
		s.reader.Close()
	}
	s.st.Close()
	return errors.Join(errs...)
}

// startCPUProfile profiles the process into path until the returned
// function is called.
func startCPUProfile(path string) (stop func(), err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}
