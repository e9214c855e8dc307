// Package ingestbench measures privaudit's end-to-end ingest throughput —
// HTTP → decode and validate → fsync'ed spool → ClickHouse — next to a
// direct INSERT … FORMAT JSONEachRow of the same events into the same
// ClickHouse, in one run.
package ingestbench

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/privaudit/privaudit/audit"
	"github.com/privaudit/privaudit/audit/client"
	"github.com/privaudit/privaudit/audit/synth"
)

// Target is the ClickHouse both paths write into.
type Target struct {
	Conn     driver.Conn // admin connection
	HTTPAddr string      // ClickHouse HTTP interface, host:port, for the direct insert
	User     string
	Password string
	// ServerPid, when set, is the ClickHouse server's process id: each
	// phase then reports the server's CPU time next to privaudit's.
	ServerPid int
}

// Options configure Run.
type Options struct {
	Events int
	Seed   uint64
	// Privaudit sends the wire NDJSON through privaudit's API at URL with
	// Token, then waits until everything is stored (WaitStored).
	URL        string
	Token      string
	WaitStored func(ctx context.Context) error
	// Parallel requests on both paths (default 2).
	Parallel int
	// Rounds is the number of alternating rounds (default 3).
	Rounds int
	// Log receives progress lines.
	Log io.Writer
	// CPUProfile, when set, receives a CPU profile of the last round's
	// privaudit phase (generation and the direct insert are left out).
	CPUProfile io.Writer
}

// Round holds one round's measurements of both paths.
type Round struct {
	// DirectSeconds and PrivSeconds run until the path reported every event
	// stored; the Settled figures also include the merges ClickHouse went on
	// running for them afterwards (each path's inserts trigger their own,
	// and a longer phase would otherwise absorb more of its merges).
	DirectSeconds, PrivSeconds               float64
	DirectSettledSeconds, PrivSettledSeconds float64
	DirectPerSec, PrivPerSec                 float64
	Ratio                                    float64 // privaudit / direct
	SettledRatio                             float64 // the same, merges settled
	// DirectCPU and PrivCPU are the processor time each path took, merges
	// settled, in this process (the benchmark's clients included) and in
	// ClickHouse.
	DirectCPU, PrivCPU CPU
}

// Result holds every round and the medians.
type Result struct {
	Events    int // per path and round
	WireBytes int64
	Rounds    []Round
	// Median is, field by field, the median over the rounds.
	Median Round
}

// Run measures Rounds rounds. Each round generates its own events (a new
// seed, so privaudit stores them rather than skipping them as duplicates),
// inserts them directly, then through privaudit; both tables keep growing
// from round to round alike. Alternating the paths spreads the machine's
// drift over both.
func Run(ctx context.Context, t Target, o Options) (Result, error) {
	if o.Parallel <= 0 {
		o.Parallel = 2
	}
	if o.Rounds <= 0 {
		o.Rounds = 3
	}
	if o.Log == nil {
		o.Log = io.Discard
	}
	res := Result{Events: o.Events}
	if err := t.Conn.Exec(ctx, "CREATE DATABASE IF NOT EXISTS privaudit_bench"); err != nil {
		return res, err
	}
	_ = t.Conn.Exec(ctx, "DROP TABLE IF EXISTS privaudit_bench.direct")
	if err := t.Conn.Exec(ctx, "CREATE TABLE privaudit_bench.direct AS privaudit.access_events"); err != nil {
		return res, err
	}
	defer t.Conn.Exec(context.WithoutCancel(ctx), "DROP TABLE IF EXISTS privaudit_bench.direct")
	for i := range o.Rounds {
		ro := o
		if i < o.Rounds-1 {
			ro.CPUProfile = nil
		}
		r, wireBytes, err := round(ctx, t, ro, o.Seed+uint64(i))
		if err != nil {
			return res, fmt.Errorf("round %d: %w", i+1, err)
		}
		res.WireBytes = wireBytes
		res.Rounds = append(res.Rounds, r)
		ds, dc := r.DirectCPU.PerEvent(o.Events)
		ps, pc := r.PrivCPU.PerEvent(o.Events)
		fmt.Fprintf(o.Log, "round %d/%d: direct %.0f events/s (CPU/event %.2f µs ClickHouse + %.2f µs sender), privaudit %.0f events/s (%.2f µs ClickHouse + %.2f µs privaudit), ratio %.2f× (%.2f× with merges settled)\n",
			i+1, o.Rounds, r.DirectPerSec, dc, ds, r.PrivPerSec, pc, ps, r.Ratio, r.SettledRatio)
	}
	res.Median = median(res.Rounds)
	return res, verify(ctx, t, uint64(o.Events*o.Rounds))
}

// verify checks that both paths stored every generated event, once: a
// benchmark that lost or doubled records would report a figure that lies.
func verify(ctx context.Context, t Target, want uint64) error {
	var direct, priv uint64
	if err := t.Conn.QueryRow(ctx, "SELECT count() FROM privaudit_bench.direct").Scan(&direct); err != nil {
		return fmt.Errorf("verify: %w", err)
	}
	err := t.Conn.QueryRow(ctx, "SELECT count() FROM privaudit.access_events WHERE event_id IN (SELECT event_id FROM privaudit_bench.direct)").Scan(&priv)
	if err != nil {
		return fmt.Errorf("verify: %w", err)
	}
	if direct != want || priv != want {
		return fmt.Errorf("verify: %d events generated, the direct insert stored %d, privaudit %d", want, direct, priv)
	}
	return nil
}

func round(ctx context.Context, t Target, o Options, seed uint64) (Round, int64, error) {
	var r Round
	var wire, consents bytes.Buffer
	now := time.Now().UTC()
	if _, err := synth.Generate(ctx, synth.Options{Seed: seed, Customers: max(o.Events/20, 100), Events: o.Events, Now: now}, &wire, &consents); err != nil {
		return r, 0, fmt.Errorf("generate: %w", err)
	}
	chunks, err := directChunks(wire.Bytes(), 100_000)
	if err != nil {
		return r, 0, err
	}
	fmt.Fprintf(o.Log, "generated %d events (%d MB of NDJSON)\n", o.Events, wire.Len()>>20)
	// Let the previous round's merges finish, so neither phase pays for them.
	if err := settle(ctx, t, o.Log); err != nil {
		return r, 0, err
	}
	direct, err := measure(ctx, t, o, "the direct insert", func() error { return directInsert(ctx, t, chunks, o.Parallel) })
	if err != nil {
		return r, 0, err
	}
	chunks = nil
	if o.CPUProfile != nil {
		if err := pprof.StartCPUProfile(o.CPUProfile); err != nil {
			return r, 0, err
		}
		defer pprof.StopCPUProfile()
	}
	priv, err := measure(ctx, t, o, "privaudit's ingest", func() error {
		start := time.Now()
		s := client.New(client.Options{Server: o.URL, Token: o.Token, Parallel: o.Parallel * 2, ChunkRecords: 20_000})
		if err := s.Send(ctx, audit.KindEvents, "bench", bytes.NewReader(wire.Bytes())); err != nil {
			return fmt.Errorf("send through privaudit: %w", err)
		}
		fmt.Fprintf(o.Log, "privaudit acknowledged everything (durably spooled) after %.2fs\n", time.Since(start).Seconds())
		return o.WaitStored(ctx)
	})
	if err != nil {
		return r, 0, err
	}
	r.DirectSeconds, r.DirectSettledSeconds, r.DirectCPU = direct.seconds, direct.settled, direct.cpu
	r.PrivSeconds, r.PrivSettledSeconds, r.PrivCPU = priv.seconds, priv.settled, priv.cpu
	r.DirectPerSec = float64(o.Events) / r.DirectSeconds
	r.PrivPerSec = float64(o.Events) / r.PrivSeconds
	r.Ratio = r.PrivPerSec / r.DirectPerSec
	r.SettledRatio = r.DirectSettledSeconds / r.PrivSettledSeconds
	return r, int64(wire.Len()), nil
}

// phase is one path's measurement in a round.
type phase struct {
	seconds float64 // until the path reported every event stored
	settled float64 // until ClickHouse also ran no merge any more
	cpu     CPU     // over settled
}

// measure times run, then the merges ClickHouse goes on running after it,
// and logs what ClickHouse did meanwhile.
func measure(ctx context.Context, t Target, o Options, name string, run func() error) (phase, error) {
	var p phase
	runtime.GC() // the preparation's garbage is not the phase's
	c0, err := counters(ctx, t)
	if err != nil {
		return p, err
	}
	start, cpu := time.Now(), markCPU(t.ServerPid).since()
	if err := run(); err != nil {
		return p, err
	}
	p.seconds = time.Since(start).Seconds()
	if err := settle(ctx, t, o.Log); err != nil {
		return p, err
	}
	p.settled, p.cpu = time.Since(start).Seconds(), cpu(t.ServerPid)
	c1, err := counters(ctx, t)
	if err != nil {
		return p, err
	}
	fmt.Fprintf(o.Log, "%s: %.2fs, %.2fs with its merges settled\n", name, p.seconds, p.settled)
	logCounters(o.Log, name, c0, c1, o.Events)
	return p, nil
}

// settle waits (up to a minute) until ClickHouse runs no merge: merges a
// phase's inserts trigger would otherwise run on into the next phase and
// be charged to it.
func settle(ctx context.Context, t Target, log io.Writer) error {
	deadline := time.Now().Add(time.Minute)
	for {
		var n uint64
		if err := t.Conn.QueryRow(ctx, "SELECT count() FROM system.merges").Scan(&n); err != nil {
			return fmt.Errorf("wait for merges: %w", err)
		}
		if n == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			fmt.Fprintf(log, "merges still running after a minute; measuring anyway\n")
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// median returns, field by field, the median of the rounds.
func median(rs []Round) Round {
	pick := func(f func(Round) float64) float64 {
		v := make([]float64, len(rs))
		for i, r := range rs {
			v[i] = f(r)
		}
		slices.Sort(v)
		if n := len(v); n%2 == 0 {
			return (v[n/2-1] + v[n/2]) / 2
		}
		return v[len(v)/2]
	}
	dur := func(f func(Round) time.Duration) time.Duration {
		return time.Duration(pick(func(r Round) float64 { return float64(f(r)) }))
	}
	return Round{
		DirectSeconds:        pick(func(r Round) float64 { return r.DirectSeconds }),
		PrivSeconds:          pick(func(r Round) float64 { return r.PrivSeconds }),
		DirectSettledSeconds: pick(func(r Round) float64 { return r.DirectSettledSeconds }),
		PrivSettledSeconds:   pick(func(r Round) float64 { return r.PrivSettledSeconds }),
		DirectPerSec:         pick(func(r Round) float64 { return r.DirectPerSec }),
		PrivPerSec:           pick(func(r Round) float64 { return r.PrivPerSec }),
		Ratio:                pick(func(r Round) float64 { return r.Ratio }),
		SettledRatio:         pick(func(r Round) float64 { return r.SettledRatio }),
		DirectCPU: CPU{Self: dur(func(r Round) time.Duration { return r.DirectCPU.Self }),
			Server: dur(func(r Round) time.Duration { return r.DirectCPU.Server })},
		PrivCPU: CPU{Self: dur(func(r Round) time.Duration { return r.PrivCPU.Self }),
			Server: dur(func(r Round) time.Duration { return r.PrivCPU.Server })},
	}
}

// directChunks turns wire NDJSON into ClickHouse JSONEachRow rows of the
// access_events columns (untimed preparation), n rows per chunk.
func directChunks(wire []byte, n int) ([][]byte, error) {
	evs, err := audit.DecodeEvents(bytes.NewReader(wire), audit.DecodeOptions{})
	if err != nil {
		return nil, fmt.Errorf("decode generated events: %w", err)
	}
	var chunks [][]byte
	var cur []byte
	for i := range evs {
		cur = appendRow(cur, &evs[i], uint64(i))
		if (i+1)%n == 0 {
			chunks = append(chunks, cur)
			cur = nil
		}
	}
	if len(cur) > 0 {
		chunks = append(chunks, cur)
	}
	return chunks, nil
}

func appendRow(b []byte, e *audit.Event, seq uint64) []byte {
	str := func(k, v string) {
		b = append(b, '"')
		b = append(b, k...)
		b = append(b, `":`...)
		b = strconv.AppendQuote(b, v)
		b = append(b, ',')
	}
	arr := func(k string, vs []string) {
		b = append(b, '"')
		b = append(b, k...)
		b = append(b, `":[`...)
		for i, v := range vs {
			if i > 0 {
				b = append(b, ',')
			}
			b = strconv.AppendQuote(b, v)
		}
		b = append(b, "],"...)
	}
	num := func(k string, v int64) {
		b = append(b, '"')
		b = append(b, k...)
		b = append(b, `":`...)
		b = strconv.AppendInt(b, v, 10)
		b = append(b, ',')
	}
	b = append(b, '{')
	str("event_id", e.EventID)
	str("occurred_at", e.OccurredAt.Format(time.DateTime))
	num("occurred_ns", e.OccurredAt.UnixNano())
	str("actor_id", e.ActorID)
	str("actor_type", e.ActorType)
	str("subject_id", e.SubjectID)
	str("action", e.Action)
	arr("data_categories", e.DataCategories)
	arr("fields", e.Fields)
	str("recipient_id", e.RecipientID)
	str("recipient_type", e.RecipientType)
	str("purpose", e.Purpose)
	str("legal_basis", e.LegalBasis)
	str("consent_id", e.ConsentID)
	str("outcome", e.Outcome)
	num("record_count", int64(e.RecordCount))
	str("channel", e.Channel)
	str("jurisdiction", e.Jurisdiction)
	str("request_id", e.RequestID)
	arr("attr_keys", e.AttrKeys)
	arr("attr_values", e.AttrValues)
	str("ingested_at", e.OccurredAt.Format(time.DateTime))
	num("ingest_seq", int64(seq))
	b = append(b, `"batch_id":"direct"}`...)
	return append(b, '\n')
}

func directInsert(ctx context.Context, t Target, chunks [][]byte, parallel int) error {
	q := url.Values{"query": {"INSERT INTO privaudit_bench.direct FORMAT JSONEachRow"}, "user": {t.User}, "password": {t.Password}}
	u := "http://" + t.HTTPAddr + "/?" + q.Encode()
	work := make(chan []byte)
	errc := make(chan error, parallel)
	var wg sync.WaitGroup
	for i := 0; i < parallel; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for c := range work {
				if err := post(ctx, u, c); err != nil {
					errc <- err
					return
				}
			}
		}()
	}
	for _, c := range chunks {
		work <- c
	}
	close(work)
	wg.Wait()
	close(errc)
	return <-errc
}

func post(ctx context.Context, u string, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("direct insert: %w", err)
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != 200 {
		return fmt.Errorf("direct insert: %d %s", resp.StatusCode, msg)
	}
	return nil
}
