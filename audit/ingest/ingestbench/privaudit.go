package ingestbench

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/privaudit/privaudit/audit"
	"github.com/privaudit/privaudit/audit/client"
)

// Privaudit is a running privaudit server a phase sends to.
type Privaudit struct {
	URL string
	// Pid, when set, is its process id: the phase then reports its CPU
	// time and page faults apart from this process's (the benchmark's
	// clients).
	Pid int
	// Stop shuts it down; it fails if the server failed.
	Stop func() error
}

// privTables are the tables privaudit's ingest writes (the records, the
// key-hash view's table, the batch log, the verdict store and the proof
// log); allTables adds the direct ones.
var (
	privTables = []string{"privaudit.access_events", "privaudit_meta.event_key_hashes", "privaudit_meta.ingest_batches",
		"privaudit.access_verdicts", "privaudit_meta.consent_subjects",
		"privaudit_meta.log_runs", "privaudit_meta.log_nodes", "privaudit_meta.log_checkpoints"}
	allTables = append([]string{tableOne, tableParallel}, privTables...)
)

// emptied returns the tables to empty before a round or a privaudit phase:
// tables without the proof log's when Options.KeepTree.
func emptied(o Options, tables []string) []string {
	if !o.KeepTree {
		return tables
	}
	return slices.DeleteFunc(slices.Clone(tables), func(t string) bool { return strings.HasPrefix(t, "privaudit_meta.log_") })
}

// privPhase measures one privaudit phase: from empty tables, including an
// empty proof log unless Options.KeepTree (so neither phase pays for
// another's records), a server of its own, sealing or not, stores the wire
// NDJSON. It returns the phase, the proof-log leaves it added, counted raw
// once the server has exited (so a leaf appended late is counted too), and
// those it started with, having checked that every event was stored once
// and, sealed, given one leaf each, unsealed none.
func privPhase(ctx context.Context, t Target, o Options, wire []byte, sealed bool) (p Phase, added, before uint64, err error) {
	if err := truncate(ctx, t, emptied(o, privTables)); err != nil {
		return p, 0, 0, err
	}
	if before, err = countLeaves(ctx, t); err != nil {
		return p, 0, 0, err
	}
	srv, err := o.StartPrivaudit(ctx, sealed)
	if err != nil {
		return p, 0, 0, fmt.Errorf("start the privaudit server: %w", err)
	}
	name := "privaudit's ingest, sealed"
	if !sealed {
		name = "privaudit's ingest, unsealed"
	}
	p, err = measure(ctx, t, o, name, privTables, srv.Pid, func() error {
		wantLeaves := uint64(0)
		if sealed {
			wantLeaves = before + uint64(o.Events)
		}
		return sendPrivaudit(ctx, t, o, srv.URL, wire, wantLeaves)
	})
	if serr := srv.Stop(); err == nil && serr != nil {
		err = serr
	}
	if err != nil {
		return p, 0, before, err
	}
	added, err = verifyPriv(ctx, t, uint64(o.Events), before, sealed)
	return p, added, before, err
}

// countLeaves returns the proof log's leaves, read raw through
// log_leaf_rows.
func countLeaves(ctx context.Context, t Target) (uint64, error) {
	var n uint64
	if err := t.Conn.QueryRow(ctx, "SELECT count() FROM privaudit_meta.log_leaf_rows").Scan(&n); err != nil {
		return 0, fmt.Errorf("count the proof log's leaves: %w", err)
	}
	return n, nil
}

// sendPrivaudit sends the wire NDJSON through privaudit's API at url, as
// the ingest command does, and waits until everything is stored and, when
// sealing is on, the proof log holds wantLeaves leaves (a leaf is appended after
// its record).
func sendPrivaudit(ctx context.Context, t Target, o Options, url string, wire []byte, wantLeaves uint64) error {
	start := time.Now()
	s := client.New(client.Options{Server: url, Token: o.Token, Parallel: o.Parallel * 2, ChunkRecords: 20_000})
	if err := s.Send(ctx, audit.KindEvents, "bench", bytes.NewReader(wire)); err != nil {
		return fmt.Errorf("send through privaudit: %w", err)
	}
	fmt.Fprintf(o.Log, "privaudit acknowledged everything (durably spooled) after %.2fs\n", time.Since(start).Seconds())
	if err := WaitRows(ctx, t.Conn, "privaudit", "access_events", uint64(o.Events)); err != nil || wantLeaves == 0 {
		return err
	}
	return waitCount(ctx, t.Conn, "privaudit_meta.log_runs", wantLeaves, "SELECT sum(leaf_count) FROM privaudit_meta.log_runs")
}

// verifyPriv checks that privaudit stored every event of the phase once and
// that the proof log gained one leaf per event when sealed and none
// otherwise (it held before): a figure that skipped records or their
// sealing would lie. It returns the leaves the phase added.
func verifyPriv(ctx context.Context, t Target, want, before uint64, sealed bool) (uint64, error) {
	var rows, ids uint64
	if err := t.Conn.QueryRow(ctx, "SELECT count(), uniqExact(event_id) FROM privaudit.access_events").Scan(&rows, &ids); err != nil {
		return 0, fmt.Errorf("verify privaudit's events: %w", err)
	}
	total, err := countLeaves(ctx, t)
	if err != nil {
		return 0, err
	}
	leaves := total - before
	wantLeaves := want
	if !sealed {
		wantLeaves = 0
	}
	if rows != want || ids != want || leaves != wantLeaves {
		return leaves, fmt.Errorf("verify (sealing %v): %d events generated; privaudit stored %d rows of %d events and added %d proof-log leaves to %d, want %d",
			sealed, want, rows, ids, leaves, before, wantLeaves)
	}
	return leaves, nil
}
