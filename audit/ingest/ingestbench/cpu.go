package ingestbench

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"strconv"
	"syscall"
	"time"
)

// CPU is the processor time spent during one phase of the benchmark by
// the ClickHouse server, by the privaudit server (a process of its own, like
// a deployed one) and by this process (the benchmark's clients).
type CPU struct {
	Self, Server, Privaudit time.Duration
	// PrivauditFaults counts the privaudit server's minor page faults:
	// memory it touched for the first time (or again after giving it back).
	PrivauditFaults int64
}

// PerEvent returns the three figures per event, in microseconds.
func (c CPU) PerEvent(events int) (self, server, privaudit float64) {
	n := float64(max(events, 1))
	return float64(c.Self.Microseconds()) / n, float64(c.Server.Microseconds()) / n, float64(c.Privaudit.Microseconds()) / n
}

// pids are the processes whose time CPU reports; zero leaves one out.
type pids struct{ server, privaudit int }

type cpuMark struct {
	self, server, privaudit time.Duration
	faults                  int64
}

func markCPU(p pids) cpuMark {
	var m cpuMark
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		m.self = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	if p.server > 0 {
		m.server, _, _ = procCPU(p.server)
	}
	if p.privaudit > 0 {
		m.privaudit, m.faults, _ = procCPU(p.privaudit)
	}
	return m
}

func (m cpuMark) since() func(p pids) CPU {
	return func(p pids) CPU {
		now := markCPU(p)
		return CPU{Self: now.self - m.self, Server: now.server - m.server,
			Privaudit: now.privaudit - m.privaudit, PrivauditFaults: now.faults - m.faults}
	}
}

// procCPU reads a process's user+system time and minor page faults from
// /proc (Linux; the kernel's clock tick is 100 Hz on every platform Go
// supports there).
func procCPU(pid int) (time.Duration, int64, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, 0, err
	}
	// The command name (field 2) may hold spaces; fields resume after ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, 0, fmt.Errorf("parse /proc/%d/stat", pid)
	}
	f := bytes.Fields(b[i+1:])
	if len(f) < 13 {
		return 0, 0, fmt.Errorf("parse /proc/%d/stat", pid)
	}
	// f[0] is field 3 (state); minflt is field 10, utime and stime 14 and 15.
	flt, err0 := strconv.ParseInt(string(f[7]), 10, 64)
	ut, err1 := strconv.ParseInt(string(f[11]), 10, 64)
	st, err2 := strconv.ParseInt(string(f[12]), 10, 64)
	if err0 != nil || err1 != nil || err2 != nil {
		return 0, 0, fmt.Errorf("parse /proc/%d/stat", pid)
	}
	return time.Duration(ut+st) * 10 * time.Millisecond, flt, nil
}

// countersSQL reads the ClickHouse cumulative counters (system.events) that
// explain where its processor time went in a phase.
const countersSQL = "SELECT event, value FROM system.events WHERE event IN ('InsertedRows', 'MergedRows', 'MergedUncompressedBytes', 'SelectedRows', 'MergeTreeDataWriterBlocks')"

// counters reads the counters of countersSQL; a counter the server has not yet
// incremented is absent and reads as zero.
func counters(ctx context.Context, t Target) (map[string]uint64, error) {
	rows, err := t.Conn.Query(ctx, countersSQL)
	if err != nil {
		return nil, fmt.Errorf("read server counters: %w", err)
	}
	defer rows.Close()
	m := map[string]uint64{}
	for rows.Next() {
		var name string
		var v uint64
		if err := rows.Scan(&name, &v); err != nil {
			return nil, fmt.Errorf("read server counters: %w", err)
		}
		m[name] = v
	}
	return m, rows.Err()
}

// logCounters writes what ClickHouse did in a phase, per event: rows
// inserted, rows and bytes merged, rows read, and the parts written
// (tables and views).
func logCounters(log io.Writer, phase string, before, after map[string]uint64, events int) {
	per := func(k string) float64 { return float64(after[k]-before[k]) / float64(max(events, 1)) }
	fmt.Fprintf(log, "  ClickHouse during %s: %d parts written; per event %.2f rows inserted, %.2f rows merged (%.0f bytes), %.2f rows read\n",
		phase, after["MergeTreeDataWriterBlocks"]-before["MergeTreeDataWriterBlocks"],
		per("InsertedRows"), per("MergedRows"), per("MergedUncompressedBytes"), per("SelectedRows"))
}
