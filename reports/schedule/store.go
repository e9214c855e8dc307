package schedule

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/privaudit/privaudit/queries"
)

// Run statuses.
const (
	StatusRunning  = "running"  // the attempt is in progress (or privaudit died during it)
	StatusSuccess  = "success"  // every file was written
	StatusFailed   = "failed"   // the attempt failed; Error says why
	StatusPanic    = "panic"    // the job panicked; Error has the panic message
	StatusCanceled = "canceled" // privaudit was shutting down
	StatusSkipped  = "skipped"  // the fire did not run; Error says why
)

// runStatuses lists every run status.
var runStatuses = []string{StatusRunning, StatusSuccess, StatusFailed, StatusPanic, StatusCanceled, StatusSkipped}

// Triggers: what started a run.
const (
	TriggerSchedule = "schedule" // the cron spec fired
	TriggerCatchUp  = "catch_up" // a fire missed while privaudit was down
	TriggerManual   = "manual"   // RunNow: `privaudit schedule run`, POST /v1/schedules/{name}/run
)

// Run is one attempt of a scheduled report run, as recorded in
// MetaDB.report_runs. A run (one RunID) has one or more attempts.
type Run struct {
	ID           string    `json:"run_id"`
	Attempt      int       `json:"attempt"`
	Schedule     string    `json:"schedule"`
	Report       string    `json:"report"`
	Trigger      string    `json:"trigger"`
	RequestedBy  string    `json:"requested_by,omitempty"`
	Instance     string    `json:"instance,omitempty"`
	FiredAt      time.Time `json:"fired_at"`
	From         time.Time `json:"period_from"`
	To           time.Time `json:"period_to"`
	Formats      []string  `json:"formats"`
	StartedAt    time.Time `json:"started_at"`
	FinishedAt   time.Time `json:"finished_at,omitzero"`
	DurationMS   int64     `json:"duration_ms"`
	Status       string    `json:"status"`
	Rows         int64     `json:"rows"`
	DetailSHA256 string    `json:"detail_sha256,omitempty"`
	Files        []File    `json:"files"`
	Error        string    `json:"error,omitempty"`
	// Deliveries, on the successful attempt of a run, are its deliveries
	// to the schedule's targets.
	Deliveries []Delivery `json:"deliveries,omitempty"`
}

// File is one output file of a run. Clients see its Name, relative to the
// schedule's output folder; the server-side Path is never sent.
type File struct {
	Name    string `json:"name"`
	Format  string `json:"format"`
	Path    string `json:"-"`
	Size    int64  `json:"size"`
	SHA256  string `json:"sha256"`             // of the file's bytes
	EventID string `json:"event_id,omitempty"` // the access event recording its rendering
}

// Bytes is the total size of the run's files.
func (r Run) Bytes() int64 {
	var n int64
	for _, f := range r.Files {
		n += f.Size
	}
	return n
}

// RunFilter selects run history.
type RunFilter struct {
	Schedule string // "" for every schedule
	RunID    string // "" for every run
	Status   string // "" for every status, e.g. StatusSuccess
	Limit    int    // attempts returned, newest first; default 50, at most 1000
}

// store reads and writes MetaDB.report_runs.
type store struct {
	conn driver.Conn
	sql  map[string]string
}

var storeQueries = []string{"insert_run", "list_runs", "last_success", "fired_ok", "success_files", "interrupted",
	"insert_delivery", "list_deliveries", "unfinished_deliveries"}

func newStore(conn driver.Conn, s queries.Schema) (*store, error) {
	st := &store{conn: conn, sql: map[string]string{}}
	for _, n := range storeQueries {
		q, err := queries.Schedule(n, s)
		if err != nil {
			return nil, fmt.Errorf("schedule queries: %w", err)
		}
		st.sql[n] = q
	}
	return st, nil
}

// record writes one attempt; version 0 for 'running', 1 for its end.
func (st *store) record(ctx context.Context, r Run) error {
	var version uint64
	if r.Status != StatusRunning {
		version = 1
	}
	n := len(r.Files)
	formats, paths, sums, events := make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	sizes := make([]uint64, n)
	for i, f := range r.Files {
		formats[i], paths[i], sizes[i], sums[i], events[i] = f.Format, f.Path, uint64(f.Size), f.SHA256, f.EventID
	}
	var finished int64
	if !r.FinishedAt.IsZero() {
		finished = r.FinishedAt.Unix()
	}
	err := st.conn.Exec(ctx, st.sql["insert_run"], r.ID, r.Attempt, r.Schedule, r.Report, r.Trigger, r.RequestedBy, r.Instance,
		r.FiredAt.Unix(), r.From.Unix(), r.To.Unix(), nonNil(r.Formats), r.StartedAt.Unix(), finished,
		uint64(max(r.DurationMS, 0)), r.Status, uint64(max(r.Rows, 0)), r.DetailSHA256,
		formats, paths, sizes, sums, events, r.Error, version)
	if err != nil {
		return fmt.Errorf("record run %s of schedule %s: %w", r.ID, r.Schedule, err)
	}
	return nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// runs lists attempts, newest first.
func (st *store) runs(ctx context.Context, f RunFilter) ([]Run, error) {
	if f.Limit <= 0 {
		f.Limit = 50
	}
	f.Limit = min(f.Limit, 1000)
	out, err := st.scanRuns(ctx, "list_runs", f.Schedule, f.Schedule, f.RunID, f.RunID, f.Status, f.Status, f.Limit)
	if err != nil {
		return nil, fmt.Errorf("list runs: %w", err)
	}
	return out, nil
}

// interrupted lists the attempts of schedule that instance left 'running'.
func (st *store) interrupted(ctx context.Context, schedule, instance string) ([]Run, error) {
	out, err := st.scanRuns(ctx, "interrupted", schedule, instance)
	if err != nil {
		return nil, fmt.Errorf("runs of %s left running: %w", schedule, err)
	}
	return out, nil
}

// scanRuns runs the query name, whose columns are list_runs', and scans
// its attempts.
func (st *store) scanRuns(ctx context.Context, name string, args ...any) ([]Run, error) {
	rows, err := st.conn.Query(ctx, st.sql[name], args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Run{}
	for rows.Next() {
		r, err := scanRun(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

func scanRun(rows driver.Rows) (Run, error) {
	var (
		r                                     Run
		attempt                               uint16
		dur, nrows                            uint64
		formats, paths, sums, events          []string
		sizes                                 []uint64
		fired, from, to, started, finishedRaw time.Time
	)
	err := rows.Scan(&r.ID, &attempt, &r.Schedule, &r.Report, &r.Trigger, &r.RequestedBy, &r.Instance,
		&fired, &from, &to, &r.Formats, &started, &finishedRaw, &dur, &r.Status, &nrows, &r.DetailSHA256,
		&formats, &paths, &sizes, &sums, &events, &r.Error)
	if err != nil {
		return r, err
	}
	r.Attempt, r.DurationMS, r.Rows = int(attempt), int64(dur), int64(nrows)
	r.FiredAt, r.From, r.To, r.StartedAt = fired.UTC(), from.UTC(), to.UTC(), started.UTC()
	if finishedRaw.Unix() > 0 {
		r.FinishedAt = finishedRaw.UTC()
	}
	r.Files = []File{}
	for i := range paths {
		r.Files = append(r.Files, File{Name: filepath.Base(paths[i]), Format: at(formats, i), Path: paths[i],
			Size: int64(at(sizes, i)), SHA256: at(sums, i), EventID: at(events, i)})
	}
	return r, nil
}

// at is s[i], or the zero value past its end (parallel arrays).
func at[T any](s []T, i int) T {
	var zero T
	if i < len(s) {
		return s[i]
	}
	return zero
}

// lastSuccess returns the fire time of the schedule's last successful run
// triggered by the scheduler; ok is false when there is none.
func (st *store) lastSuccess(ctx context.Context, schedule string) (time.Time, bool, error) {
	var n uint64
	var last int64
	if err := st.conn.QueryRow(ctx, st.sql["last_success"], schedule).Scan(&n, &last); err != nil {
		return time.Time{}, false, fmt.Errorf("last successful run of %s: %w", schedule, err)
	}
	return time.Unix(last, 0).UTC(), n > 0, nil
}

// firedOK reports whether the fire at fired already ran successfully.
func (st *store) firedOK(ctx context.Context, schedule string, fired time.Time) (bool, error) {
	var n uint64
	if err := st.conn.QueryRow(ctx, st.sql["fired_ok"], schedule, fired.Unix()).Scan(&n); err != nil {
		return false, fmt.Errorf("runs of %s fired at %s: %w", schedule, fired.UTC().Format(time.RFC3339), err)
	}
	return n > 0, nil
}

// successFiles calls fn with each successful run's files, newest first.
func (st *store) successFiles(ctx context.Context, schedule string, fn func(runID string, paths []string)) error {
	rows, err := st.conn.Query(ctx, st.sql["success_files"], schedule)
	if err != nil {
		return fmt.Errorf("outputs of %s: %w", schedule, err)
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var paths []string
		if err := rows.Scan(&id, &paths); err != nil {
			return fmt.Errorf("outputs of %s: %w", schedule, err)
		}
		fn(id, paths)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("outputs of %s: %w", schedule, err)
	}
	return nil
}
