package schedule

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"mime"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/privaudit/privaudit/audit/apierr"
)

// HeaderFileSHA256 carries the recorded SHA-256 of a downloaded run file,
// for the client to verify what it received.
const HeaderFileSHA256 = "X-Privaudit-File-Sha256"

// ListResponse is the body of GET /v1/schedules.
type ListResponse struct {
	Schedules []Status `json:"schedules"`
}

// RunsResponse is the body of GET /v1/runs and GET /v1/runs/{id}.
type RunsResponse struct {
	Runs []Run `json:"runs"`
}

// Routes registers the schedule API on mux, every handler wrapped by wrap
// (authentication; officer or admin role):
//
//	GET  /v1/schedules                  the schedules and their next fire times
//	POST /v1/schedules/{name}/run       run now and answer the run; ?wait=false: answer 202 at once
//	GET  /v1/runs                       ?schedule=NAME&status=S&limit=N — run history, newest first
//	GET  /v1/runs/{id}                  the attempts of one run
//	GET  /v1/runs/{id}/files/{name}     download an output file of a run
func (s *Scheduler) Routes(mux *http.ServeMux, wrap func(http.Handler) http.Handler) {
	mux.Handle("GET /v1/schedules", wrap(http.HandlerFunc(s.handleList)))
	mux.Handle("POST /v1/schedules/{name}/run", wrap(http.HandlerFunc(s.handleRun)))
	mux.Handle("GET /v1/runs", wrap(http.HandlerFunc(s.handleRuns)))
	mux.Handle("GET /v1/runs/{id}", wrap(http.HandlerFunc(s.handleRun1)))
	mux.Handle("GET /v1/runs/{id}/files/{name}", wrap(http.HandlerFunc(s.handleFile)))
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (s *Scheduler) handleList(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, ListResponse{Schedules: s.List()})
}

// handleRun starts a run now; it answers the finished run (whatever its
// status) or, with wait=false or when the client gives up, the run as
// started. The run does not depend on the request.
func (s *Scheduler) handleRun(w http.ResponseWriter, r *http.Request) {
	wait := true
	if v := r.URL.Query().Get("wait"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			apierr.Write(w, r, s.log, apierr.Errorf(apierr.Invalid, "wait=%q: want true or false", v))
			return
		}
		wait = b
	}
	run, done, err := s.startNow(r.Context(), r.PathValue("name"))
	if err != nil {
		apierr.Write(w, r, s.log, err)
		return
	}
	if !wait {
		writeJSON(w, http.StatusAccepted, run)
		return
	}
	select {
	case run = <-done:
		writeJSON(w, http.StatusOK, run)
	case <-r.Context().Done():
	}
}

func (s *Scheduler) handleRuns(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := RunFilter{Schedule: q.Get("schedule"), Status: q.Get("status")}
	for k := range q {
		if k != "schedule" && k != "limit" && k != "status" {
			apierr.Write(w, r, s.log, apierr.Errorf(apierr.Invalid, "unknown query parameter %q: use schedule, status and limit", k))
			return
		}
	}
	if f.Status != "" && !slices.Contains(runStatuses, f.Status) {
		apierr.Write(w, r, s.log, apierr.Errorf(apierr.Invalid, "status=%q: want one of %s", f.Status, strings.Join(runStatuses, ", ")))
		return
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			apierr.Write(w, r, s.log, apierr.Errorf(apierr.Invalid, "limit=%q: want a number from 1 to 1000", v))
			return
		}
		f.Limit = n
	}
	if f.Schedule != "" {
		if _, ok := s.byName[f.Schedule]; !ok {
			apierr.Write(w, r, s.log, s.unknown(f.Schedule))
			return
		}
	}
	runs, err := s.Runs(r.Context(), f)
	if err != nil {
		apierr.Write(w, r, s.log, err)
		return
	}
	writeJSON(w, http.StatusOK, RunsResponse{Runs: runs})
}

func (s *Scheduler) handleRun1(w http.ResponseWriter, r *http.Request) {
	runs, err := s.Runs(r.Context(), RunFilter{RunID: r.PathValue("id"), Limit: 1000})
	if err != nil {
		apierr.Write(w, r, s.log, err)
		return
	}
	if len(runs) == 0 {
		apierr.Write(w, r, s.log, apierr.Errorf(apierr.NotFound, "no run %q; `privaudit runs` lists them", r.PathValue("id")))
		return
	}
	writeJSON(w, http.StatusOK, RunsResponse{Runs: runs})
}

// contentTypes of the formats privaudit renders.
var contentTypes = map[string]string{
	"xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
	"csv":  "text/csv; charset=utf-8",
	"json": "application/json",
}

// handleFile serves a file a run recorded (ServeFile), answering an error
// before the first byte as the API's JSON error.
func (s *Scheduler) handleFile(w http.ResponseWriter, r *http.Request) {
	if err := s.ServeFile(w, r, r.PathValue("id"), r.PathValue("name")); err != nil {
		apierr.Write(w, r, s.log, err)
	}
}

// ServeFile serves file name of run id to the token in r's context
// (auth.WithIdentity), the one path of every run-file download (the API's
// and the console's). The name must be a plain file name the run recorded;
// the path served is the recorded one, never built from the request. The
// download is recorded under the token's name before its first byte is sent
// (recordDownload); one that cannot be recorded is refused. An error is
// returned, with nothing written, for the caller to answer in its own form.
func (s *Scheduler) ServeFile(w http.ResponseWriter, r *http.Request, id, name string) error {
	if name != filepath.Base(name) || strings.ContainsAny(name, `/\`) || name == ".." || name == "." {
		return apierr.Errorf(apierr.NotFound,
			"no file %q: give a file name as `privaudit runs show %s` lists it, without folders", name, id)
	}
	file, run, err := s.runFile(r, id, name)
	if err != nil {
		return err
	}
	schedule := run.Schedule
	f, err := os.Open(file.Path)
	if errors.Is(err, fs.ErrNotExist) {
		return apierr.Errorf(apierr.NotFound,
			"file %s of run %s is gone: output retention deleted it (schedule %s keeps its newest runs) or it was removed by hand", name, id, schedule)
	}
	if err != nil {
		return fmt.Errorf("open run file: %w", err)
	}
	defer f.Close()
	if err := verify(f, file); err != nil {
		s.log.Warn("run file not served", "run_id", id, "file", name, "err", err)
		return apierr.Errorf(apierr.NotFound,
			"file %s of run %s has changed since the run wrote it (a later run of schedule %s wrote the same name, or it was modified): %v", name, id, schedule, err)
	}
	if err := s.recordDownload(r, run, file); err != nil {
		return err
	}
	ct, ok := contentTypes[file.Format]
	if !ok {
		ct = "application/octet-stream"
	}
	h := w.Header()
	h.Set("Content-Type", ct)
	h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": file.Name}))
	h.Set("Content-Length", strconv.FormatInt(file.Size, 10))
	h.Set(HeaderFileSHA256, file.SHA256)
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	if _, err := io.Copy(w, f); err != nil {
		s.log.Warn("run file download interrupted", "run_id", id, "file", name, "err", err)
	}
	return nil
}

// runFile finds the file name among the files of run id's successful
// attempt, and returns it with that attempt.
func (s *Scheduler) runFile(r *http.Request, id, name string) (File, Run, error) {
	runs, err := s.Runs(r.Context(), RunFilter{RunID: id, Limit: 1000})
	if err != nil {
		return File{}, Run{}, err
	}
	if len(runs) == 0 {
		return File{}, Run{}, apierr.Errorf(apierr.NotFound, "no run %q; `privaudit runs` lists them", id)
	}
	for _, run := range runs {
		for _, f := range run.Files {
			if run.Status == StatusSuccess && f.Name == name {
				return f, run, nil
			}
		}
	}
	return File{}, Run{}, apierr.Errorf(apierr.NotFound, "run %s has no file %q; `privaudit runs show %s` lists its files", id, name, id)
}

// verify checks that f still holds what the run recorded (size and
// SHA-256), and rewinds it.
func verify(f *os.File, file File) error {
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return fmt.Errorf("read: %w", err)
	}
	if n != file.Size || hex.EncodeToString(h.Sum(nil)) != file.SHA256 {
		return errors.New("its size or SHA-256 no longer matches the record")
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("rewind: %w", err)
	}
	return nil
}
