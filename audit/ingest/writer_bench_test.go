package ingest

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/privaudit/privaudit/audit"
	"github.com/privaudit/privaudit/audit/chserver"
	"github.com/privaudit/privaudit/audit/spool"
	"github.com/privaudit/privaudit/audit/store"
	"github.com/privaudit/privaudit/audit/synth"
	"github.com/privaudit/privaudit/queries"
)

// BenchmarkWriterBatch measures one writer batch of 100,000 new events —
// decode the spooled payloads, look their keys up, insert — against the
// managed ClickHouse, without HTTP or spool I/O.
func BenchmarkWriterBatch(b *testing.B) {
	ctx := context.Background()
	log := slog.New(slog.DiscardHandler)
	ch, err := chserver.Start(ctx, chserver.Options{Dir: filepath.Join(b.TempDir(), "clickhouse"), Logger: log})
	if err != nil {
		b.Fatal(err)
	}
	defer ch.Stop(context.Background())
	conn, err := store.Open(ctx, store.Options{Addrs: []string{ch.Addr}, User: ch.AdminUser, Password: ch.AdminPassword, Logger: log})
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	if err := store.Migrate(ctx, conn, queries.DefaultSchema, log); err != nil {
		b.Fatal(err)
	}
	const n, perEntry = 100_000, 20_000
	var wire, consents bytes.Buffer
	if _, err := synth.Generate(ctx, synth.Options{Seed: 1, Customers: n / 20, Events: n, Now: time.Now().UTC()}, &wire, &consents); err != nil {
		b.Fatal(err)
	}
	evs, err := audit.DecodeEvents(&wire, audit.DecodeOptions{})
	if err != nil {
		b.Fatal(err)
	}
	// write hands its entries back to the spool; the entries here are made
	// up, so the spool only recycles their memory.
	sp, err := spool.Open(ctx, spool.Options{Dir: b.TempDir(), NoSync: true, Logger: log})
	if err != nil {
		b.Fatal(err)
	}
	defer sp.Close()
	w, err := NewWriter(WriterOptions{Kind: audit.KindEvents, Spool: sp, Conn: conn, Schema: queries.DefaultSchema, Metrics: NewMetrics(nil), Logger: benchLog()})
	if err != nil {
		b.Fatal(err)
	}
	if err := w.loadFilter(ctx); err != nil {
		b.Fatal(err)
	}
	buf := w.newRows()
	serverCPU := procCPU(b, ch.Dir)
	var selfCPU, srvCPU time.Duration
	b.ResetTimer()
	for it := 0; it < b.N; it++ {
		b.StopTimer()
		var ents []spool.Entry
		for i := range evs {
			evs[i].EventID = fmt.Sprintf("%08x-0000-4000-8000-%012x", it, i)
		}
		for i := 0; i < len(evs); i += perEntry {
			chunk := evs[i:min(i+perEntry, len(evs))]
			ents = append(ents, spool.Entry{Seq: uint64(len(ents) + 1), Count: len(chunk),
				Payload: encodePayload(uint64(it*n+i+1), audit.EncodeEvents(nil, chunk))})
		}
		b.StartTimer()
		c0, s0 := selfCPUTime(), serverCPU()
		if err := w.write(ctx, ents, buf); err != nil {
			b.Fatal(err)
		}
		selfCPU += selfCPUTime() - c0
		srvCPU += serverCPU() - s0
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/event")
	b.ReportMetric(float64(selfCPU.Nanoseconds())/float64(b.N*n), "cpu-ns/event")
	b.ReportMetric(float64(srvCPU.Nanoseconds())/float64(b.N*n), "server-cpu-ns/event")
}

func benchLog() *slog.Logger {
	if os.Getenv("BENCH_DEBUG") == "" {
		return slog.New(slog.DiscardHandler)
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

func selfCPUTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// procCPU returns a function reporting the CPU time used so far by the
// process whose command line mentions dir (the managed clickhouse-server).
func procCPU(b *testing.B, dir string) func() time.Duration {
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		cmd, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil || !bytes.Contains(cmd, []byte(dir)) || !bytes.Contains(cmd, []byte("clickhouse")) {
			continue
		}
		stat := filepath.Join("/proc", e.Name(), "stat")
		return func() time.Duration {
			raw, err := os.ReadFile(stat)
			if err != nil {
				return 0
			}
			f := strings.Fields(string(raw[bytes.LastIndexByte(raw, ')')+2:]))
			ut, _ := strconv.ParseInt(f[11], 10, 64)
			st, _ := strconv.ParseInt(f[12], 10, 64)
			return time.Duration(ut+st) * 10 * time.Millisecond // USER_HZ is 100 on Linux
		}
	}
	b.Log("clickhouse-server process not found; server CPU not measured")
	return func() time.Duration { return 0 }
}
