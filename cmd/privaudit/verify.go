package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/privaudit/privaudit/reports"
	"github.com/privaudit/privaudit/reports/verify"
)

const verifyUsage = `usage: privaudit verify [--checkpoint FILE|DIR]... [--key PUB] [--from DATE --to DATE]
  checks the proof log: recomputes every stored record's leaf and the tree from
  the leaves, checks every checkpoint's signature (stored ones, and those held
  off this machine: --checkpoint, default proof.export_dir) and that each is
  the tree's at its size; names each record altered, deleted or inserted
  outside privaudit (by id and batch) and each missing or forged checkpoint;
  records removed by sealed retention drops are reported as retention.
  Exit 0 when all holds, 3 when something was found.
usage: privaudit verify verdicts --from DATE --to DATE [--max-listed N] [--recheck-after 3s]
  recomputes the verdict of every access event of [from, to) with the in-query
  engine and compares it with the verdict store; exit 0 when none differ,
  3 when some differ, are missing or orphaned`

// exitDiffering is the exit status of a verify that found differences
// (usage errors exit 2, other failures 1).
const exitDiffering = 3

// differingError is a verify that ran and found differences.
type differingError struct{ res verify.Result }

func (e differingError) Error() string {
	return fmt.Sprintf("verify verdicts: %d events differ from their recomputed verdict, %d have no stored verdict, %d stored verdicts have no access event; see the lines above",
		e.res.Differing, e.res.Missing, e.res.Orphaned)
}

func (differingError) ExitCode() int { return exitDiffering }

// verify runs `privaudit verify verdicts`. It opens storage directly, as
// `token create` does (attaching to the managed ClickHouse of a running
// serve, or the configured one): it needs the admin connection to read
// access_verdicts and the consent ledger, which no officer API offers.
func (m *Main) verify(ctx context.Context, args []string) error {
	if len(args) == 0 || args[0] != "verdicts" {
		return m.verifyLog(ctx, args)
	}
	var from, to string
	var maxListed int
	var chunk int64
	var recheck time.Duration
	if _, err := m.parse("verify verdicts", args[1:], func(fs *flag.FlagSet) {
		fs.StringVar(&from, "from", "", "start of the period, inclusive (2026-10-01 or RFC 3339)")
		fs.StringVar(&to, "to", "", "end of the period, exclusive (2026-11-01 or RFC 3339)")
		fs.IntVar(&maxListed, "max-listed", 1000, "name at most this many events; the rest are counted")
		fs.Int64Var(&chunk, "chunk-events", verify.DefaultChunkEvents, "access events checked per engine query (memory against ledger rebuilds)")
		fs.DurationVar(&recheck, "recheck-after", verify.DefaultRecheckAfter, "wait before a second look at the differences found (records arriving meanwhile); 0: none")
	}); err != nil {
		return err
	}
	var bounds [2]time.Time
	for i, b := range []string{from, to} {
		t, err := reports.ParseTime(b)
		if err != nil {
			return usageError{fmt.Sprintf("--from and --to are required: %v\n%s", err, verifyUsage)}
		}
		bounds[i] = t
	}
	if !bounds[0].Before(bounds[1]) {
		return usageError{fmt.Sprintf("--from %s must be before --to %s (the period is [from, to))", from, to)}
	}
	if recheck <= 0 {
		recheck = -1
	}
	st, err := m.openStorage(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	listed := 0
	res, err := verify.Verdicts(ctx, verify.Options{Conn: st.Conn, Schema: m.Config.Schema(), From: bounds[0], To: bounds[1],
		ChunkEvents: chunk, RecheckAfter: recheck, Logger: m.Log, OnDifference: func(d verify.Difference) {
			if listed < maxListed {
				fmt.Fprintln(m.Stdout, formatDifference(d))
			}
			listed++
		}})
	if err != nil {
		return err
	}
	if listed > maxListed {
		fmt.Fprintf(m.Stdout, "… and %d more (--max-listed %d)\n", listed-maxListed, maxListed)
	}
	printSummary(m.Stdout, res)
	if !res.Clean() {
		return differingError{res}
	}
	return nil
}

// formatDifference is one line naming an event and both verdicts.
func formatDifference(d verify.Difference) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s\t%s", d.Kind, d.EventID)
	if d.Kind != verify.Missing {
		fmt.Fprintf(&b, "\tstored: %s (ledger position %d)", formatVerdict(d.Stored), d.LedgerPosition)
	}
	if d.Kind != verify.Orphaned {
		fmt.Fprintf(&b, "\trecomputed: %s", formatVerdict(d.Recomputed))
	}
	return b.String()
}

func formatVerdict(v verify.Verdict) string {
	return fmt.Sprintf("verdict=%s consent_id=%q detail=%q missing_categories=[%s] is_disclosure=%d is_violation=%d",
		v.Verdict, v.ConsentID, v.Detail, strings.Join(v.MissingCategories, ","), v.Disclosure, v.Violation)
}

func printSummary(w io.Writer, r verify.Result) {
	fmt.Fprintf(w, "verify verdicts [%s, %s): %d events checked in %d chunks, %d stored verdicts read\n",
		r.From.Format(time.RFC3339), r.To.Format(time.RFC3339), r.Checked, r.Chunks, r.Stored)
	fmt.Fprintf(w, "differing: %d, missing: %d, orphaned: %d\n", r.Differing, r.Missing, r.Orphaned)
	if r.Settled > 0 {
		fmt.Fprintf(w, "settled: %d differences of the first look were gone at the second (re-evaluated meanwhile)\n", r.Settled)
	}
	if r.Stored > 0 {
		fmt.Fprintf(w, "ledger positions: %d – %d\n", r.MinPosition, r.MaxPosition)
	}
	if r.Clean() {
		fmt.Fprintln(w, "clean: every event's stored verdict equals its recomputed verdict")
	}
}
