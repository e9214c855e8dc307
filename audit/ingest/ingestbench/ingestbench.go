// Package ingestbench measures privaudit's end-to-end ingest throughput —
// HTTP → decode and validate → fsync'ed spool → ClickHouse — with sealing
// into the proof log on and off, next to direct INSERT … FORMAT JSONEachRow
// of the same events into the same ClickHouse (one INSERT of them all, and
// parallel 100,000-row INSERTs), in one run.
package ingestbench

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"runtime/debug"
	"slices"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

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
	// StartPrivaudit starts the privaudit server a privaudit phase sends
	// to, sealing every stored record into the proof log or not, on the
	// tables Run has just emptied; the phase stops it once everything is
	// stored and checked. Each phase gets its own server because two
	// servers cannot share a data directory (the writer lease).
	StartPrivaudit func(ctx context.Context, sealed bool) (Privaudit, error)
	// Token is an ingest token of those servers.
	Token string
	// Parallel requests on both paths (default 2).
	Parallel int
	// Rounds is the number of rounds (default 5): a shared machine's speed
	// drifts by tens of percent within minutes, so medians need several.
	Rounds int
	// KeepTree keeps the proof log over the rounds instead of emptying it
	// before each privaudit phase: each sealed phase then appends to the
	// tree the earlier ones grew, as in a deployment.
	KeepTree bool
	// Log receives progress lines.
	Log io.Writer
}

// Phase is one path's measurement in one round.
type Phase struct {
	// Seconds runs until the path reported every event stored;
	// SettledSeconds also includes the merges ClickHouse went on running
	// for them afterwards (each path's inserts trigger their own, and a
	// longer phase would otherwise absorb more of its merges).
	Seconds, SettledSeconds float64
	PerSec                  float64 // events per second over Seconds
	// CPU is the processor time the path took, merges settled, in
	// ClickHouse, in the privaudit server and in this process (the
	// benchmark's clients).
	CPU CPU
}

// Round holds one round's measurements of the four paths.
type Round struct {
	// One is a single INSERT … FORMAT JSONEachRow of all the events, the
	// way an operator loads a file; Parallel sends the same rows as
	// 100,000-row INSERTs, Options.Parallel at a time, which keeps both of
	// ClickHouse's parsing threads busy. Priv goes through privaudit with
	// sealing on (the default), Unsealed with it off.
	One, Parallel, Priv, Unsealed Phase
	// Leaves and UnsealedLeaves are the proof-log leaves the sealed and the
	// unsealed phase added, raw counts: Run has checked they are the events
	// and zero. TreeSize is the rows the sealed phase started with (zero
	// unless Options.KeepTree).
	Leaves, UnsealedLeaves, TreeSize uint64
}

// SealingCost is the share of the unsealed throughput that sealing costs:
// 0.08 means privaudit stores 8% fewer events per second with it on.
func (r Round) SealingCost() float64 { return 1 - r.Priv.PerSec/r.Unsealed.PerSec }

// CPUSealingCost is the same estimated from processor time per event, in
// ClickHouse and the privaudit server together: the throughput a machine
// whose cores ingest alone would lose to sealing. It moves far less than
// SealingCost when other work shares the machine.
func (r Round) CPUSealingCost() float64 {
	serving := func(c CPU) float64 { return float64(c.Server + c.Privaudit) }
	return 1 - serving(r.Unsealed.CPU)/serving(r.Priv.CPU)
}

// Ratios compares privaudit with a direct path: events per second, and the
// same with each path charged its merges.
type Ratios struct{ PerSec, Settled float64 }

// RatioTo returns privaudit's ratios to the direct phase d.
func (r Round) RatioTo(d Phase) Ratios {
	return Ratios{PerSec: r.Priv.PerSec / d.PerSec, Settled: d.SettledSeconds / r.Priv.SettledSeconds}
}

// Result holds every round and the medians.
type Result struct {
	Events    int // per path and round
	WireBytes int64
	Rounds    []Round
	// Median is, field by field, the median over the rounds.
	Median Round
	// ToOne and ToParallel are the medians of the rounds' ratios.
	ToOne, ToParallel Ratios
	// SealingCost and CPUSealingCost are the medians of the rounds'.
	SealingCost, CPUSealingCost float64
	KeepTree                    bool // Options.KeepTree
}

// Run measures Rounds rounds. Each round generates its own events (a new
// seed, so privaudit stores them rather than skipping them as duplicates),
// inserts them directly in one INSERT, in parallel INSERTs and through
// privaudit sealed and unsealed, each round starting with another of the
// four, and the two privaudit phases swapping places from round to round.
// Alternating the paths spreads the machine's drift over them. Every round
// and every privaudit phase starts from empty tables (the proof log's too,
// unless Options.KeepTree), so the rounds repeat one experiment: otherwise
// a later round would also pay for merging the earlier rounds' parts into
// its own, and the paths leave those in different shapes (one INSERT makes
// one part, privaudit one per batch). Each round checks that every path
// stored each of its events once.
func Run(ctx context.Context, t Target, o Options) (Result, error) {
	if o.Parallel <= 0 {
		o.Parallel = 2
	}
	if o.Rounds <= 0 {
		o.Rounds = 5
	}
	if o.Log == nil {
		o.Log = io.Discard
	}
	res := Result{Events: o.Events, KeepTree: o.KeepTree}
	if o.StartPrivaudit == nil {
		return res, fmt.Errorf("ingestbench: Options.StartPrivaudit is not set")
	}
	if err := t.Conn.Exec(ctx, "CREATE DATABASE IF NOT EXISTS privaudit_bench"); err != nil {
		return res, err
	}
	for _, table := range []string{tableOne, tableParallel} {
		_ = t.Conn.Exec(ctx, "DROP TABLE IF EXISTS "+table)
		if err := t.Conn.Exec(ctx, "CREATE TABLE "+table+" AS privaudit.access_events"); err != nil {
			return res, err
		}
		defer t.Conn.Exec(context.WithoutCancel(ctx), "DROP TABLE IF EXISTS "+table)
	}
	// Each path's tables merge only during its own phase and the settling
	// after it, so no path is charged another's merges.
	if err := merges(ctx, t, "STOP", allTables...); err != nil {
		return res, err
	}
	defer merges(context.WithoutCancel(ctx), t, "START", allTables...)
	for i := range o.Rounds {
		if err := truncate(ctx, t, emptied(o, allTables)); err != nil {
			return res, err
		}
		r, wireBytes, err := round(ctx, t, o, o.Seed+uint64(i), i)
		if err == nil {
			err = verifyDirect(ctx, t, uint64(o.Events))
		}
		if err != nil {
			return res, fmt.Errorf("round %d: %w", i+1, err)
		}
		res.WireBytes = wireBytes
		res.Rounds = append(res.Rounds, r)
		fmt.Fprintf(o.Log, "round %d/%d: one INSERT %.0f events/s, parallel INSERTs %.0f events/s, privaudit %.0f events/s "+
			"(%.0f unsealed, sealing costs %.1f%%); privaudit/one %.2f× (%.2f× merges settled), privaudit/parallel %.2f× (%.2f×)\n",
			i+1, o.Rounds, r.One.PerSec, r.Parallel.PerSec, r.Priv.PerSec, r.Unsealed.PerSec, 100*r.SealingCost(),
			r.RatioTo(r.One).PerSec, r.RatioTo(r.One).Settled, r.RatioTo(r.Parallel).PerSec, r.RatioTo(r.Parallel).Settled)
	}
	res.Median, res.ToOne, res.ToParallel, res.SealingCost = median(res.Rounds)
	res.CPUSealingCost = medianOf(res.Rounds, Round.CPUSealingCost)
	return res, nil
}

// truncate empties tables (constants of this package).
func truncate(ctx context.Context, t Target, tables []string) error {
	for _, table := range tables {
		if err := t.Conn.Exec(ctx, "TRUNCATE TABLE "+table); err != nil {
			return fmt.Errorf("empty %s: %w", table, err)
		}
	}
	return nil
}

// verifyDirect checks that both direct paths stored every event of the
// round, once, and the same events (verifyPriv checks privaudit's): a
// benchmark that lost or doubled records would report a figure that lies.
func verifyDirect(ctx context.Context, t Target, want uint64) error {
	var one, parallel, same uint64
	for _, q := range []struct {
		dst *uint64
		sql string
	}{
		{&one, "SELECT count() FROM " + tableOne},
		{&parallel, "SELECT count() FROM " + tableParallel},
		{&same, "SELECT count() FROM " + tableOne + " WHERE event_id IN (SELECT event_id FROM " + tableParallel + ")"},
	} {
		if err := t.Conn.QueryRow(ctx, q.sql).Scan(q.dst); err != nil {
			return fmt.Errorf("verify: %w", err)
		}
	}
	if one != want || parallel != want || same != want {
		return fmt.Errorf("verify: %d events generated; stored by the one INSERT %d, the parallel INSERTs %d, by both %d", want, one, parallel, same)
	}
	return nil
}

func round(ctx context.Context, t Target, o Options, seed uint64, first int) (Round, int64, error) {
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
	// Let any merge still running finish, so no phase pays for it.
	if err := settle(ctx, t, o.Log); err != nil {
		return r, 0, err
	}
	sealed := func() (err error) {
		r.Priv, r.Leaves, r.TreeSize, err = privPhase(ctx, t, o, wire.Bytes(), true)
		return err
	}
	unsealed := func() (err error) {
		r.Unsealed, r.UnsealedLeaves, _, err = privPhase(ctx, t, o, wire.Bytes(), false)
		return err
	}
	if first%2 == 1 {
		sealed, unsealed = unsealed, sealed
	}
	phases := []func() error{
		func() (err error) {
			r.One, err = measure(ctx, t, o, "one INSERT", []string{tableOne}, 0, func() error { return insertOne(ctx, t, chunks) })
			return err
		},
		func() (err error) {
			r.Parallel, err = measure(ctx, t, o, "parallel INSERTs", []string{tableParallel}, 0, func() error {
				return insertParallel(ctx, t, chunks, o.Parallel)
			})
			return err
		},
		sealed, unsealed,
	}
	// Each round starts with another path: whatever the first phase after
	// the preparation pays is spread over all of them.
	for i := range phases {
		if err := phases[(first+i)%len(phases)](); err != nil {
			return r, 0, err
		}
	}
	return r, int64(wire.Len()), nil
}

// merges runs SYSTEM STOP or START MERGES for each table (all constants of
// this package).
func merges(ctx context.Context, t Target, verb string, tables ...string) error {
	for _, table := range tables {
		if err := t.Conn.Exec(ctx, "SYSTEM "+verb+" MERGES "+table); err != nil {
			return fmt.Errorf("%s merges of %s: %w", verb, table, err)
		}
	}
	return nil
}

// measure times run with merges allowed only in tables, then the merges
// ClickHouse goes on running for them after it, and logs what ClickHouse
// did meanwhile.
// privPid is the privaudit server's process id during the phase, zero for
// none.
func measure(ctx context.Context, t Target, o Options, name string, tables []string, privPid int, run func() error) (Phase, error) {
	var p Phase
	// The preparation's garbage is collected now, not during the phase.
	// Its memory is given back to the system too: otherwise the first
	// phase after it runs while the kernel reclaims gigabytes, and
	// measured half as fast. The privaudit server is a process of its own,
	// so this does not touch its memory: like a deployed server, it keeps
	// the buffers it has warmed up.
	debug.FreeOSMemory()
	if err := merges(ctx, t, "START", tables...); err != nil {
		return p, err
	}
	defer merges(context.WithoutCancel(ctx), t, "STOP", tables...)
	c0, err := counters(ctx, t)
	if err != nil {
		return p, err
	}
	procs := pids{server: t.ServerPid, privaudit: privPid}
	start, cpu := time.Now(), markCPU(procs).since()
	if err := run(); err != nil {
		return p, err
	}
	p.Seconds = time.Since(start).Seconds()
	p.PerSec = float64(o.Events) / p.Seconds
	if err := settle(ctx, t, o.Log); err != nil {
		return p, err
	}
	p.SettledSeconds, p.CPU = time.Since(start).Seconds(), cpu(procs)
	c1, err := counters(ctx, t)
	if err != nil {
		return p, err
	}
	self, server, priv := p.CPU.PerEvent(o.Events)
	fmt.Fprintf(o.Log, "%s: %.2fs, %.2fs with its merges settled; CPU/event %.2f µs ClickHouse + %.2f µs privaudit server (%.3f page faults/event) + %.2f µs bench clients\n",
		name, p.Seconds, p.SettledSeconds, server, priv, float64(p.CPU.PrivauditFaults)/float64(max(o.Events, 1)), self)
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

// median returns, field by field, the median of the rounds, and the
// medians of their ratios and sealing costs.
func median(rs []Round) (Round, Ratios, Ratios, float64) {
	pick := func(f func(Round) float64) float64 { return medianOf(rs, f) }
	phase := func(of func(Round) Phase) Phase {
		dur := func(f func(CPU) time.Duration) time.Duration {
			return time.Duration(pick(func(r Round) float64 { return float64(f(of(r).CPU)) }))
		}
		return Phase{
			Seconds:        pick(func(r Round) float64 { return of(r).Seconds }),
			SettledSeconds: pick(func(r Round) float64 { return of(r).SettledSeconds }),
			PerSec:         pick(func(r Round) float64 { return of(r).PerSec }),
			CPU: CPU{Self: dur(func(c CPU) time.Duration { return c.Self }),
				Server:    dur(func(c CPU) time.Duration { return c.Server }),
				Privaudit: dur(func(c CPU) time.Duration { return c.Privaudit })},
		}
	}
	ratios := func(to func(Round) Phase) Ratios {
		return Ratios{PerSec: pick(func(r Round) float64 { return r.RatioTo(to(r)).PerSec }),
			Settled: pick(func(r Round) float64 { return r.RatioTo(to(r)).Settled })}
	}
	one := func(r Round) Phase { return r.One }
	par := func(r Round) Phase { return r.Parallel }
	m := Round{One: phase(one), Parallel: phase(par), Priv: phase(func(r Round) Phase { return r.Priv }),
		Unsealed: phase(func(r Round) Phase { return r.Unsealed })}
	return m, ratios(one), ratios(par), pick(Round.SealingCost)
}

// medianOf returns the median of f over the rounds.
func medianOf(rs []Round, f func(Round) float64) float64 {
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

// WaitRows returns once database.table holds n rows in its active parts. It
// reads only ClickHouse's part metadata, so waiting costs the server next
// to nothing; it fails when the count has not grown for two minutes.
func WaitRows(ctx context.Context, conn driver.Conn, database, table string, n uint64) error {
	return waitCount(ctx, conn, database+"."+table, n, "SELECT sum(rows) FROM system.parts WHERE active AND database = ? AND table = ?", database, table)
}

// waitCount polls query (one count, with args) until it reaches n; it
// gives up when the count has not grown for two minutes. what names the
// count in the error.
func waitCount(ctx context.Context, conn driver.Conn, what string, n uint64, query string, args ...any) error {
	var last uint64
	progress := time.Now()
	for {
		var rows uint64
		if err := conn.QueryRow(ctx, query, args...).Scan(&rows); err != nil {
			return fmt.Errorf("count %s: %w", what, err)
		}
		if rows >= n {
			return nil
		}
		if rows > last {
			last, progress = rows, time.Now()
		} else if time.Since(progress) > 2*time.Minute {
			return fmt.Errorf("%s holds %d of %d rows and has not grown for two minutes", what, rows, n)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(25 * time.Millisecond):
		}
	}
}
