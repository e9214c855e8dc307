package reportsbench

import (
	"fmt"
	"io"
	"strings"
)

// The targets of issue 15, at 10M events / 1M customers.
const (
	targetCustomerRatio = 3.0     // subject-access ≤ 3× the raw read of the customer's rows
	targetCustomerShare = 0.01    // … reading ≤ 1% of the events table's rows
	targetPeriodRatio   = 1.5     // a period report ≤ 1.5× its raw FINAL baseline
	targetSummaryRatio  = 0.5     // recipients, processing-inventory ≤ 0.5× the raw FINAL read
	targetPeakBytes     = 1 << 30 // ClickHouse peak memory per report
	smallReportRows     = 100_000 // under this, a report is also held to the raw FINAL read
)

// summaryReports are held to targetSummaryRatio of the raw FINAL read.
var summaryReports = map[string]bool{"recipients": true, "processing-inventory": true}

// Print writes every figure, its ratios to the baselines and the targets
// beside them, each marked met or NOT MET.
func Print(w io.Writer, r Result) {
	fmt.Fprintf(w, "reports benchmark: %d events, %d customers, %d consent events, period %s to %s; loaded through privaudit in %.1f s; events table %d rows in %d parts\n",
		r.Events, r.Customers, r.Consents, periodFrom.Format("2006-01-02"), periodTo.Format("2006-01-02"), r.LoadSeconds, r.TableRows, r.Parts)
	fmt.Fprintln(w, "baselines (ClickHouse alone, output discarded):")
	for _, f := range r.Baselines {
		fmt.Fprintf(w, "  %-48s %s\n", f.Name, figureText(f))
	}
	fmt.Fprintln(w, "reports (privaudit's report runner, output discarded; ratios of wall times); targets at 10M events / 1M customers:")
	for _, f := range r.Reports {
		fmt.Fprintf(w, "  %-48s %s\n", f.Name, figureText(f))
		fmt.Fprintf(w, "  %-48s %s\n", "", strings.Join(reportTargets(r, f), "; "))
	}
	fmt.Fprintf(w, "  %-48s %s\n", Timeline, figureText(r.Timeline))
	fmt.Fprintf(w, "  %-48s %s\n", "", timelineTarget(r))
	fmt.Fprintln(w, "the console's overview (issue 17), at 10M events / 1M customers:")
	fmt.Fprintf(w, "  %-48s %s\n", r.Overview.Name, figureText(r.Overview))
	fmt.Fprintf(w, "  %-48s %s\n", "", overviewTarget(r))
	l := r.Late
	fmt.Fprintf(w, "late consents: %d consent events dated before the period, stored in %.1f s; they can change %d events of the period\n",
		l.Consents, l.StoreSeconds, l.Changeable)
	if re := l.Reevaluation; re != (Reevaluation{}) {
		fmt.Fprintf(w, "  %-48s read %.0f verdict rows (%.1f per changeable event, %.2f%% of the verdict store: never the whole table: %s) and %.0f consent-ledger rows; %.0f verdicts changed\n",
			"writers' re-evaluation:", re.VerdictRows, re.VerdictRows/float64(max(l.Changeable, 1)),
			100*re.VerdictRows/float64(max(r.TableRows, 1)), met(re.VerdictRows < float64(r.TableRows)), re.LedgerRows, re.Rewritten)
	}
	for _, f := range l.Reports {
		fmt.Fprintf(w, "  %-48s %s\n", "after late consents: "+f.Name, figureText(f))
		fmt.Fprintf(w, "  %-48s %s\n", "", lateTarget(r, f))
	}
	fmt.Fprintln(w, "peak memory within 20% when customers grow 10×: compare the peaks of a 100k- and a 1M-customer run")
}

// figureText is a figure's wall time, rows, rows read and peak memory.
func figureText(f Figure) string {
	if f.Err != "" {
		return fmt.Sprintf("FAILED after %.3f s: %s", f.Seconds, f.Err)
	}
	q := ""
	if f.Queries > 1 {
		q = fmt.Sprintf(" (%d queries, the two highest peaks summed %.1f MiB)", f.Queries, mib(f.PeakPairBytes))
	}
	return fmt.Sprintf("%9.3f s (ClickHouse %8.3f s)  rows %9d  read_rows %10d  peak %8.1f MiB%s",
		f.Seconds, f.ServerSeconds, f.Rows, f.ReadRows, mib(f.PeakBytes), q)
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }

// reportTargets compares one report's figure with its targets.
func reportTargets(r Result, f Figure) []string {
	if f.Err != "" {
		return []string{"every target: NOT MET (the report failed)"}
	}
	var out []string
	name := strings.Fields(f.Name)[0]
	if name == SubjectAccess {
		if base, ok := r.Baseline(BaseCustomer); ok {
			out = append(out, ratioTarget("to "+BaseCustomer, f.Seconds, base.Seconds, targetCustomerRatio))
		}
		share := float64(f.ReadRows) / float64(max(r.TableRows, 1))
		out = append(out, fmt.Sprintf("read %.2f%% of the events table's rows (≤ %.0f%%: %s)", 100*share, 100*targetCustomerShare, met(share <= targetCustomerShare)))
	} else {
		if base, ok := r.Baseline(BaseCSVFinal); ok {
			out = append(out, ratioTarget("to "+BaseCSVFinal, f.Seconds, base.Seconds, targetPeriodRatio))
		}
		limit := 0.0
		switch {
		case summaryReports[name]:
			limit = targetSummaryRatio
		case f.Rows < smallReportRows:
			limit = targetPeriodRatio
		}
		if base, ok := r.Baseline(BaseNullFinal); ok && limit > 0 {
			out = append(out, ratioTarget("to "+BaseNullFinal, f.Seconds, base.Seconds, limit))
		}
	}
	return append(out, fmt.Sprintf("peak %.1f MiB (≤ 1 GiB: %s)", mib(f.PeakPairBytes), met(f.PeakPairBytes <= targetPeakBytes)))
}

// lateTarget states the rows a report read after the late consents
// against the events they can change and the whole table.
func lateTarget(r Result, f Figure) string {
	if f.Err != "" {
		return "NOT MET (the report failed)"
	}
	per := float64(f.ReadRows) / float64(max(r.Late.Changeable, 1))
	return fmt.Sprintf("read %d rows, %.1f per changeable event, %.2f× the events table (a period report reads its period; the re-evaluation above is what the late consents cost)",
		f.ReadRows, per, float64(f.ReadRows)/float64(max(r.TableRows, 1)))
}

// ratioTarget is "x.xx× label (≤ limit×: met)".
func ratioTarget(label string, seconds, base, limit float64) string {
	ratio := seconds / max(base, 1e-6)
	return fmt.Sprintf("%.2f× %s (≤ %.1f×: %s)", ratio, label, limit, met(ratio <= limit))
}

func met(ok bool) string {
	if ok {
		return "met"
	}
	return "NOT MET"
}
