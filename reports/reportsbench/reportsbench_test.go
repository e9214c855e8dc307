package reportsbench

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/privaudit/privaudit/audit/ingest/ingesttest"
	"github.com/privaudit/privaudit/reports"
)

// TestSmoke runs the whole benchmark on 20,000 events against a real
// managed ClickHouse and privaudit intake, and checks that every report,
// baseline and late-consent figure is there with sane numbers (no timing
// is asserted).
func TestSmoke(t *testing.T) {
	env := ingesttest.Start(t, ingesttest.Options{})
	var log bytes.Buffer
	tgt := Target{Conn: env.Conn, Addr: env.CH.Addr, HTTPAddr: env.CH.HTTPAddr, User: env.CH.AdminUser,
		Password: env.CH.AdminPassword, Schema: env.Schema}
	res, err := Run(context.Background(), tgt, Options{Events: 20_000, Customers: 2_000, Seed: 3,
		URL: env.Server.URL, Token: env.Token["ingest"], Log: &log, WaitVerdicts: func(ctx context.Context) error {
			_, err := env.Ingestor.WaitVerdicts(ctx)
			return err
		}})
	if err != nil {
		t.Fatalf("run: %v\nlog:\n%s", err, log.String())
	}
	if res.TableRows < 20_000 {
		t.Errorf("events table holds %d rows, want the 20,000 generated", res.TableRows)
	}
	if res.Parts == 0 {
		t.Errorf("the events table has no active parts after the load")
	}
	checkBaselines(t, res)
	var want []string
	for _, d := range reports.Default().List() {
		if d.SubjectParam == "" {
			want = append(want, d.Name+" csv")
		}
	}
	want = append(want, xlsxReport+" xlsx", SubjectAccess+" csv")
	if len(res.Reports) != len(want) {
		t.Errorf("%d report figures, want %d (%v)", len(res.Reports), len(want), want)
	}
	for _, f := range append(append(res.Reports, res.Overview), res.Late.Reports...) {
		checkFigure(t, f)
	}
	checkFigure(t, res.Timeline)
	if sa := figure(res.Reports, SubjectAccess+" csv"); res.Timeline.Rows != sa.Rows || sa.Rows == 0 {
		t.Errorf("the customer's timeline has %d entries, the subject-access report %d rows", res.Timeline.Rows, sa.Rows)
	}
	if key, _ := res.Baseline(BaseCustomerKey); key.Rows != res.Timeline.Rows {
		t.Errorf("the raw read by key has %d rows, the timeline %d entries", key.Rows, res.Timeline.Rows)
	}
	if res.Late.Consents != 10_000 || res.Late.StoreSeconds <= 0 || len(res.Late.Reports) != len(lateReports)+1 {
		t.Errorf("late consents: %+v", res.Late)
	}
	// The late grants cover events that named no consent: some violations
	// must be gone, or the load did not reach the verdicts.
	if before, after := figure(res.Reports, "violations csv"), figure(res.Late.Reports, "violations csv"); after.Rows >= before.Rows {
		t.Errorf("violations: %d rows before the late consents, %d after; want fewer after", before.Rows, after.Rows)
	}
	var out bytes.Buffer
	Print(&out, res)
	text := out.String()
	for _, name := range want {
		if !strings.Contains(text, "\n  "+name+" ") {
			t.Errorf("the output has no line for report %s:\n%s", name, text)
		}
	}
	for _, name := range []string{BaseNull, BaseNullFinal, BaseCSVFinal, BaseJSONFinal, BaseCustomer, BaseCustomerKey, Timeline, "after late consents: violations csv"} {
		if !strings.Contains(text, "\n  "+name+" ") {
			t.Errorf("the output has no line for %s:\n%s", name, text)
		}
	}
	if !strings.Contains(text, "\n  "+OverviewName+" ") || !strings.Contains(text, "× to "+BaseNullFinal+" (≤ 1.0×: ") {
		t.Errorf("the output has no overview line with its ratio to the raw FINAL read:\n%s", text)
	}
	// Every report line is followed by its targets, each marked.
	if n, m := strings.Count(text, "(≤ 1 GiB: "), len(want); n != m {
		t.Errorf("%d memory targets printed, want one per report (%d):\n%s", n, m, text)
	}
	t.Log("\n" + text)
}

// checkBaselines checks the raw baselines produced the period's rows.
func checkBaselines(t *testing.T, res Result) {
	t.Helper()
	csv, _ := res.Baseline(BaseCSVFinal)
	js, _ := res.Baseline(BaseJSONFinal)
	if csv.Rows <= 0 || csv.Rows != js.Rows {
		t.Errorf("raw period FINAL: %d csv rows, %d JSONEachRow rows; want the same, above zero", csv.Rows, js.Rows)
	}
	if uint64(csv.Rows) > res.TableRows {
		t.Errorf("raw period FINAL: %d rows, more than the table's %d", csv.Rows, res.TableRows)
	}
	for _, f := range res.Baselines {
		checkFigure(t, f)
	}
	if c, _ := res.Baseline(BaseCustomer); c.Rows <= 0 || c.ReadRows > res.TableRows {
		t.Errorf("one customer's rows: %+v", c)
	}
}

// checkFigure checks a figure has a duration, rows read and memory.
func checkFigure(t *testing.T, f Figure) {
	t.Helper()
	if f.Err != "" || f.Seconds <= 0 || f.ReadRows == 0 || f.PeakBytes <= 0 || f.PeakPairBytes < f.PeakBytes || f.Queries == 0 {
		t.Errorf("%s: implausible figure %+v", f.Name, f)
	}
}

// figure returns the figure named name.
func figure(fs []Figure, name string) Figure {
	for _, f := range fs {
		if f.Name == name {
			return f
		}
	}
	return Figure{Name: name}
}

// TestFailedReportIsAFigure checks that a report ClickHouse fails is
// recorded, printed as failed with its targets not met, and does not end
// the run: a long run keeps the figures of the other reports.
func TestFailedReportIsAFigure(t *testing.T) {
	env := ingesttest.Start(t, ingesttest.Options{})
	ctx := context.Background()
	tgt := Target{Conn: env.Conn, Addr: env.CH.Addr, HTTPAddr: env.CH.HTTPAddr, User: env.CH.AdminUser,
		Password: env.CH.AdminPassword, Schema: env.Schema}
	conn, err := openMeasured(ctx, tgt)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// The schema names a database ClickHouse does not have: every query fails.
	schema := env.Schema
	schema.DB = "no_such_database"
	runner, err := reports.NewRunner(reports.Options{Conn: conn, Schema: schema, Recorder: discardRuns})
	if err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	b := &bench{t: tgt, o: Options{Log: &log}, conn: conn, m: &meter{t: tgt, seen: map[string]bool{}}, runner: runner}
	f, err := b.report(ctx, "violations", "csv", nil)
	if err != nil {
		t.Fatalf("a failed report ended the run: %v", err)
	}
	if f.Err == "" || !strings.Contains(f.Err, "no_such_database") {
		t.Fatalf("failed report: figure %+v, want its error", f)
	}
	var out bytes.Buffer
	Print(&out, Result{Reports: []Figure{f}, Late: Late{Reports: []Figure{f}}})
	for _, want := range []string{"violations csv", "FAILED after", "every target: NOT MET (the report failed)", "NOT MET (the report failed)"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}
