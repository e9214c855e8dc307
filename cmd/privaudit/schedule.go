package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"hash"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/privaudit/privaudit/reports/schedule"
)

const scheduleUsage = `usage:
  privaudit schedule list                 the schedules, their next fire times and periods
  privaudit schedule run NAME [--no-wait] run a schedule now, exactly as the scheduler would`

const runsUsage = `usage:
  privaudit runs [--schedule NAME] [--limit N]      run history, newest first
  privaudit runs show RUN_ID                        the attempts and files of one run
  privaudit runs get RUN_ID FILE [--out PATH]       download a file of a past run (- for stdout)
  privaudit runs get --latest SCHEDULE [--format F] [--out PATH]
                                                    download the newest successful run's files`

// schedule is `privaudit schedule list|run`, a client of a running server.
func (m *Main) schedule(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return usageError{scheduleUsage}
	}
	switch args[0] {
	case "list":
		return m.scheduleList(ctx, args[1:])
	case "run":
		return m.scheduleRun(ctx, args[1:])
	}
	return usageError{fmt.Sprintf("unknown schedule command %q\n%s", args[0], scheduleUsage)}
}

// runs is `privaudit runs [show|get]`, a client of a running server.
func (m *Main) runs(ctx context.Context, args []string) error {
	if len(args) > 0 {
		switch args[0] {
		case "show":
			return m.runsShow(ctx, args[1:])
		case "get":
			return m.runsGet(ctx, args[1:])
		}
	}
	return m.runsList(ctx, args)
}

// positional splits the leading non-flag arguments (up to n) from the rest.
func positional(args []string, n int) ([]string, []string) {
	i := 0
	for i < len(args) && i < n && !strings.HasPrefix(args[i], "-") {
		i++
	}
	return args[:i], args[i:]
}

// parseWith parses the command's flags and requires exactly want leading
// arguments.
func (m *Main) parseWith(name string, args []string, want int, extra func(fs *flag.FlagSet)) ([]string, error) {
	pos, rest := positional(args, want)
	fs, err := m.parse(name, rest, extra)
	if err != nil {
		return nil, err
	}
	if len(pos) != want || fs.NArg() > 0 {
		return nil, usageError{fmt.Sprintf("privaudit %s: wrong arguments %q (arguments first, then flags)", name, args)}
	}
	return pos, nil
}

// getJSON sends a request and decodes its JSON answer into out.
func (m *Main) getJSON(ctx context.Context, method, path string, q url.Values, out any) error {
	resp, err := m.api(ctx, apiCall{method: method, path: path, query: q})
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("bad answer from %s%s: %w", m.Config.Server, path, err)
	}
	return nil
}

func (m *Main) scheduleList(ctx context.Context, args []string) error {
	if _, err := m.parseWith("schedule list", args, 0, nil); err != nil {
		return err
	}
	var list schedule.ListResponse
	if err := m.getJSON(ctx, http.MethodGet, "/v1/schedules", nil, &list); err != nil {
		return fmt.Errorf("schedule list: %w", err)
	}
	if len(list.Schedules) == 0 {
		fmt.Fprintln(m.Stdout, "no schedules configured (see `schedules:` in the configuration, README)")
		return nil
	}
	tw := tabwriter.NewWriter(m.Stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SCHEDULE\tREPORT\tCRON\tTIMEZONE\tNEXT RUN\tNEXT PERIOD\tFORMATS\tSTATE")
	for _, s := range list.Schedules {
		loc := zone(s.Timezone)
		next := "never"
		if !s.Next.IsZero() {
			next = s.Next.In(loc).Format("2006-01-02 15:04 MST")
		}
		state := "idle"
		switch {
		case s.Running:
			state = "running"
		case s.CatchingUp:
			state = "catching up"
		case s.Last != nil:
			state = "last " + s.Last.Status
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", s.Name, s.Report, s.Cron, loc, next,
			periodText(s.NextFrom, s.NextTo, loc), strings.Join(s.Formats, ","), state)
	}
	return tw.Flush()
}

// zone loads a schedule's time zone for display (UTC if unknown).
func zone(name string) *time.Location {
	if loc, err := time.LoadLocation(name); err == nil && name != "" {
		return loc
	}
	return time.UTC
}

// periodText shows [from, to) in loc: dates when both are midnight there.
func periodText(from, to time.Time, loc *time.Location) string {
	if from.IsZero() {
		return "-"
	}
	f, t := from.In(loc), to.In(loc)
	layout := "2006-01-02 15:04"
	if midnight(f) && midnight(t) {
		layout = time.DateOnly
	}
	return f.Format(layout) + " – " + t.Format(layout) + " (excl.)"
}

func midnight(t time.Time) bool { return t.Hour() == 0 && t.Minute() == 0 && t.Second() == 0 }

func (m *Main) scheduleRun(ctx context.Context, args []string) error {
	var noWait bool
	pos, err := m.parseWith("schedule run", args, 1, func(fs *flag.FlagSet) {
		fs.BoolVar(&noWait, "no-wait", false, "start the run and return at once (follow it with `privaudit runs show RUN_ID`)")
	})
	if err != nil {
		return err
	}
	name := pos[0]
	q := url.Values{}
	if noWait {
		q.Set("wait", "false")
	}
	var run schedule.Run
	if err := m.getJSON(ctx, http.MethodPost, "/v1/schedules/"+url.PathEscape(name)+"/run", q, &run); err != nil {
		return fmt.Errorf("schedule run %s: %w", name, err)
	}
	if noWait {
		fmt.Fprintf(m.Stdout, "schedule %s: run %s started; follow it with `privaudit runs show %s`\n", name, run.ID, run.ID)
		return nil
	}
	m.printRun(run)
	if run.Status != schedule.StatusSuccess {
		return fmt.Errorf("schedule %s: run %s %s after %d attempt(s): %s", name, run.ID, run.Status, run.Attempt, run.Error)
	}
	return nil
}

// printRun prints one attempt and its files.
func (m *Main) printRun(r schedule.Run) {
	fmt.Fprintf(m.Stdout, "run %s of schedule %s (%s, attempt %d): %s — %d rows, %d files, %d bytes, %s\n",
		r.ID, r.Schedule, r.Trigger, r.Attempt, r.Status, r.Rows, len(r.Files), r.Bytes(),
		(time.Duration(r.DurationMS) * time.Millisecond).String())
	by := ""
	if r.RequestedBy != "" {
		by = " by " + r.RequestedBy
	}
	fmt.Fprintf(m.Stdout, "  period %s, started %s%s\n", periodText(r.From, r.To, time.UTC), r.StartedAt.Format(time.RFC3339), by)
	if r.Error != "" {
		fmt.Fprintf(m.Stdout, "  error: %s\n", r.Error)
	}
	for _, f := range r.Files {
		fmt.Fprintf(m.Stdout, "  %s  %d bytes  sha256 %s\n", f.Name, f.Size, f.SHA256)
	}
	m.printDeliveries(r.Deliveries)
}

// printDeliveries prints a run's deliveries and each of their tries.
func (m *Main) printDeliveries(ds []schedule.Delivery) {
	for _, d := range ds {
		tries := 0
		for _, a := range d.Attempts {
			if a.Attempt > 0 {
				tries++
			}
		}
		fmt.Fprintf(m.Stdout, "  delivery to %s (%s): %s after %d attempt(s)\n", d.Target, d.Type, d.Status, tries)
		for _, a := range d.Attempts {
			if a.Attempt == 0 {
				continue // the queued row
			}
			line := fmt.Sprintf("    attempt %d %s %s", a.Attempt, a.StartedAt.Format(time.RFC3339), a.Outcome)
			if a.Detail != "" {
				line += " — " + a.Detail
			}
			if a.Error != "" {
				line += " — " + a.Error
			}
			fmt.Fprintln(m.Stdout, line)
		}
	}
}

func (m *Main) runsList(ctx context.Context, args []string) error {
	var name string
	var limit int
	if _, err := m.parseWith("runs", args, 0, func(fs *flag.FlagSet) {
		fs.StringVar(&name, "schedule", "", "only the runs of this schedule")
		fs.IntVar(&limit, "limit", 20, "attempts shown, newest first (at most 1000)")
	}); err != nil {
		return err
	}
	q := url.Values{"limit": {strconv.Itoa(limit)}}
	if name != "" {
		q.Set("schedule", name)
	}
	var rr schedule.RunsResponse
	if err := m.getJSON(ctx, http.MethodGet, "/v1/runs", q, &rr); err != nil {
		return fmt.Errorf("runs: %w", err)
	}
	tw := tabwriter.NewWriter(m.Stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "RUN_ID\tSCHEDULE\tTRIGGER\tATTEMPT\tSTATUS\tSTARTED (UTC)\tDURATION\tROWS\tPERIOD (UTC)\tFILES\tERROR")
	for _, r := range rr.Runs {
		var files []string
		for _, f := range r.Files {
			files = append(files, f.Name)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\t%s\t%d\t%s\t%s\t%s\n", r.ID, r.Schedule, r.Trigger, r.Attempt, r.Status,
			r.StartedAt.Format("2006-01-02 15:04:05"), (time.Duration(r.DurationMS) * time.Millisecond).String(), r.Rows,
			periodText(r.From, r.To, time.UTC), strings.Join(files, ","), clip(r.Error, 80))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(rr.Runs) == 0 {
		fmt.Fprintln(m.Stderr, "no runs recorded yet")
	}
	return nil
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

func (m *Main) runsShow(ctx context.Context, args []string) error {
	pos, err := m.parseWith("runs show", args, 1, nil)
	if err != nil {
		return err
	}
	var rr schedule.RunsResponse
	if err := m.getJSON(ctx, http.MethodGet, "/v1/runs/"+url.PathEscape(pos[0]), nil, &rr); err != nil {
		return fmt.Errorf("runs show %s: %w", pos[0], err)
	}
	for _, r := range rr.Runs {
		m.printRun(r)
	}
	return nil
}

func (m *Main) runsGet(ctx context.Context, args []string) error {
	var out, latest, format string
	want := 2
	if len(args) > 0 && strings.HasPrefix(args[0], "-") {
		want = 0
	}
	pos, err := m.parseWith("runs get", args, want, func(fs *flag.FlagSet) {
		fs.StringVar(&out, "out", "", "file to write (default: FILE in the current directory; - for stdout); with --latest and several files, a folder")
		fs.StringVar(&latest, "latest", "", "fetch the files of this schedule's newest successful run instead of RUN_ID FILE")
		fs.StringVar(&format, "format", "", "with --latest: only the file of this format (xlsx, csv, json)")
	})
	switch {
	case err != nil:
		return err
	case latest != "" && want != 0:
		return usageError{"privaudit runs get: give either RUN_ID FILE or --latest SCHEDULE, not both\n" + runsUsage}
	case latest != "":
		return m.runsGetLatest(ctx, latest, format, out)
	case want == 0:
		return usageError{"privaudit runs get: give RUN_ID FILE, or --latest SCHEDULE\n" + runsUsage}
	case format != "":
		return usageError{"privaudit runs get: --format goes with --latest; RUN_ID FILE names the file already"}
	}
	return m.fetchRunFile(ctx, pos[0], pos[1], out)
}

// runsGetLatest downloads the files of the newest successful run of
// schedule name (only the one of format, if given): into out if it is one
// file, else into the folder out (default the current one).
func (m *Main) runsGetLatest(ctx context.Context, name, format, out string) error {
	q := url.Values{"schedule": {name}, "status": {schedule.StatusSuccess}, "limit": {"1"}}
	var rr schedule.RunsResponse
	if err := m.getJSON(ctx, http.MethodGet, "/v1/runs", q, &rr); err != nil {
		return fmt.Errorf("runs get --latest %s: %w", name, err)
	}
	if len(rr.Runs) == 0 {
		return fmt.Errorf("runs get --latest %s: schedule %s has no successful run yet; start one with `privaudit schedule run %s`, or see its attempts with `privaudit runs --schedule %s`",
			name, name, name, name)
	}
	run := rr.Runs[0]
	var files []schedule.File
	var formats []string
	for _, f := range run.Files {
		formats = append(formats, f.Format)
		if format == "" || f.Format == format {
			files = append(files, f)
		}
	}
	if len(files) == 0 {
		return fmt.Errorf("runs get --latest %s: run %s has no %s file; it has %s (choose one with --format)", name, run.ID, format, strings.Join(formats, ", "))
	}
	if len(files) == 1 {
		return m.fetchRunFile(ctx, run.ID, files[0].Name, out)
	}
	if out == "-" {
		return fmt.Errorf("runs get --latest %s: run %s has %d files (%s); choose one with --format to write it to stdout", name, run.ID, len(files), strings.Join(formats, ", "))
	}
	if out != "" {
		if st, err := os.Stat(out); err != nil || !st.IsDir() {
			return fmt.Errorf("runs get --latest %s: run %s has %d files (%s): --out %s must be an existing folder, or choose one file with --format",
				name, run.ID, len(files), strings.Join(formats, ", "), out)
		}
	}
	for _, f := range files {
		if err := m.fetchRunFile(ctx, run.ID, f.Name, filepath.Join(out, f.Name)); err != nil {
			return err
		}
	}
	return nil
}

// fetchRunFile downloads file name of run id to out ("" for name in the
// current folder, - for stdout), verifying its SHA-256.
func (m *Main) fetchRunFile(ctx context.Context, id, name, out string) error {
	if out == "" {
		out = filepath.Base(name)
	}
	if err := m.refuseBinaryToTerminal(strings.TrimPrefix(filepath.Ext(name), "."), out); err != nil {
		return err
	}
	resp, err := m.api(ctx, apiCall{method: http.MethodGet, path: "/v1/runs/" + url.PathEscape(id) + "/files/" + url.PathEscape(name)})
	if err != nil {
		return fmt.Errorf("runs get %s %s: %w", id, name, err)
	}
	defer resp.Body.Close()
	vr := &verifyingReader{r: resp.Body, h: sha256.New(), want: resp.Header.Get(schedule.HeaderFileSHA256)}
	if out == "-" {
		_, err = io.Copy(m.Stdout, vr)
	} else {
		err = writeAtomic(out, vr)
	}
	if err != nil {
		return fmt.Errorf("runs get %s %s: %w; nothing was written to %s", id, name, err, out)
	}
	fmt.Fprintf(m.Stderr, "run %s: wrote %s (%d bytes, sha256 %s verified)\n", id, out, vr.n, vr.want)
	return nil
}

// verifyingReader fails at the end of the stream unless what it read has
// the expected SHA-256, so a corrupted download is never kept.
type verifyingReader struct {
	r    io.Reader
	h    hash.Hash
	want string
	n    int64
}

func (v *verifyingReader) Read(p []byte) (int, error) {
	n, err := v.r.Read(p)
	v.h.Write(p[:n])
	v.n += int64(n)
	if errors.Is(err, io.EOF) {
		if got := hex.EncodeToString(v.h.Sum(nil)); got != v.want {
			return n, fmt.Errorf("download corrupted: sha256 %s, the run recorded %s", got, v.want)
		}
	}
	return n, err
}
