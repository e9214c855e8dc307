package console

import (
	"encoding/json"
	"net/http"
	"regexp"
	"sync"
	"time"
)

// Progress of report downloads. An xlsx is written out only once its last
// row is rendered, so the browser's own download list shows nothing for
// most of a long run. The report form's script (static/reports.js, the
// only script, served from the binary) gives each download a random job id
// in the form's "job" field and asks /console/reports/progress/{job} every
// second how many rows the Runner has rendered so far (RunRequest.Progress).
// A job is visible only to the session that started it, and is forgotten
// jobTTL after it ends.

const (
	jobTTL  = 10 * time.Minute
	maxJobs = 1000
)

// jobID is the shape of a job id the script makes: 32 hex digits.
var jobID = regexp.MustCompile(`^[0-9a-f]{32}$`)

// Job states, as the progress endpoint answers them.
const (
	jobRunning = "running"
	jobDone    = "done"
	jobFailed  = "failed"
	jobUnknown = "unknown"
)

type job struct {
	State string    `json:"state"`
	Rows  int64     `json:"rows"`
	Since time.Time `json:"-"`
	Ended time.Time `json:"-"`
}

type jobKey struct{ session, id string }

// jobs are the report downloads with a job id, by session and id.
type jobs struct {
	now  func() time.Time
	mu   sync.Mutex
	byID map[jobKey]*job
}

func newJobs(now func() time.Time) *jobs { return &jobs{now: now, byID: map[jobKey]*job{}} }

// start registers a running job and returns the functions that report its
// rows and its end; ok is false (and the download runs without progress)
// for a malformed id or when too many jobs are kept.
func (js *jobs) start(session, id string) (progress func(int64), end func(ok bool), ok bool) {
	if !jobID.MatchString(id) {
		return nil, nil, false
	}
	now := js.now()
	js.mu.Lock()
	defer js.mu.Unlock()
	for k, j := range js.byID {
		if !j.Ended.IsZero() && now.Sub(j.Ended) > jobTTL {
			delete(js.byID, k)
		}
	}
	if len(js.byID) >= maxJobs {
		return nil, nil, false
	}
	j := &job{State: jobRunning, Since: now}
	js.byID[jobKey{session, id}] = j
	progress = func(n int64) {
		js.mu.Lock()
		j.Rows = n
		js.mu.Unlock()
	}
	end = func(ok bool) {
		js.mu.Lock()
		defer js.mu.Unlock()
		j.State, j.Ended = jobDone, js.now()
		if !ok {
			j.State = jobFailed
		}
	}
	return progress, end, true
}

// get returns a copy of the job id of session.
func (js *jobs) get(session, id string) job {
	js.mu.Lock()
	defer js.mu.Unlock()
	if j, ok := js.byID[jobKey{session, id}]; ok {
		return *j
	}
	return job{State: jobUnknown}
}

// reportProgress answers the state of one of the session's downloads as
// JSON: {"state": "running"|"done"|"failed"|"unknown", "rows": N}.
func (c *Console) reportProgress(w http.ResponseWriter, r *http.Request) {
	j := c.jobs.get(sessionFrom(r.Context()).ID, r.PathValue("job"))
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(j)
}
