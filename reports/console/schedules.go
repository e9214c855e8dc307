package console

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"time"

	"github.com/privaudit/privaudit/audit/apierr"
	"github.com/privaudit/privaudit/audit/auth"
	"github.com/privaudit/privaudit/reports/schedule"
)

// The schedules of the Reports page: each schedule, the run history of one
// with its files and deliveries, "Run now", and the run files' downloads.
// Each goes through the scheduler's own path (schedule.Scheduler): a run
// started here is a manual run under the officer's name, a file download is
// recorded under it before the first byte, as through the API.

// runNowWait is how long Run now waits for the run before showing the
// schedule with the run still going.
const runNowWait = 30 * time.Second

// schedulesPage lists the configured schedules.
func (c *Console) schedulesPage(w http.ResponseWriter, r *http.Request) {
	var list []schedule.Status
	if c.o.Schedules != nil {
		list = c.o.Schedules.List()
	}
	c.render(w, r, http.StatusOK, "schedules", page{Title: "Schedules", Nav: "reports", Data: struct{ Schedules []schedule.Status }{list}})
}

type scheduleData struct {
	Status  schedule.Status
	Runs    []schedule.Run
	RunsErr string
	Started string // the run just started with Run now
	Running bool   // it was still running when the page was drawn
}

// schedulePage shows one schedule, its Run now button and its runs, newest
// first.
func (c *Console) schedulePage(w http.ResponseWriter, r *http.Request) {
	st, ok := c.findSchedule(w, r)
	if !ok {
		return
	}
	d := scheduleData{Status: st, Started: r.URL.Query().Get("started")}
	ctx, cancel := context.WithTimeout(r.Context(), 15*time.Second)
	defer cancel()
	runs, err := c.o.Schedules.Runs(ctx, schedule.RunFilter{Schedule: st.Name, Limit: 50})
	if err != nil {
		c.o.Logger.Warn("console: read runs", "schedule", st.Name, "err", err)
		d.RunsErr = "The run history cannot be read just now; reload the page in a minute."
	}
	d.Runs = runs
	for _, run := range runs {
		if run.ID == d.Started && run.Status == schedule.StatusRunning {
			d.Running = true
		}
	}
	c.render(w, r, http.StatusOK, "schedule", page{Title: "Schedule " + st.Name, Nav: "reports", Data: d})
}

func (c *Console) findSchedule(w http.ResponseWriter, r *http.Request) (schedule.Status, bool) {
	name := r.PathValue("name")
	if c.o.Schedules != nil {
		for _, st := range c.o.Schedules.List() {
			if st.Name == name {
				return st, true
			}
		}
	}
	c.fail(w, r, http.StatusNotFound, "There is no schedule named "+name+".", "Choose a schedule from the Schedules page.")
	return schedule.Status{}, false
}

// runNow starts a run of the schedule as the officer (a manual run), waits
// a little for it and shows the schedule with the run.
func (c *Console) runNow(w http.ResponseWriter, r *http.Request) {
	st, ok := c.findSchedule(w, r)
	if !ok {
		return
	}
	ctx := auth.WithIdentity(r.Context(), sessionFrom(r.Context()).Identity)
	run, done, err := c.o.Schedules.StartNow(ctx, st.Name)
	var ae *apierr.Error
	switch {
	case errors.Is(err, schedule.ErrRunning):
		c.fail(w, r, http.StatusConflict, "Schedule "+st.Name+" is running now, so no second run was started.",
			"Wait until it has finished (its page shows the run), then press Run now again.")
		return
	case errors.As(err, &ae):
		c.fail(w, r, http.StatusServiceUnavailable, "The run was not started: "+ae.Message+".", "Try again in a minute.")
		return
	case err != nil:
		c.o.Logger.Warn("console: run now", "schedule", st.Name, "err", err)
		c.fail(w, r, http.StatusServiceUnavailable, "The run could not be started.", "Try again in a minute; if it persists, ask an admin to check privaudit's log.")
		return
	}
	t := time.NewTimer(runNowWait)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
	case <-r.Context().Done():
		return
	}
	http.Redirect(w, r, Prefix+"schedules/"+url.PathEscape(st.Name)+"?started="+url.QueryEscape(run.ID)+"#run-"+run.ID, http.StatusSeeOther)
}

// runFile serves a run's file to the officer through the scheduler, which
// records the download under the officer's name first.
func (c *Console) runFile(w http.ResponseWriter, r *http.Request) {
	if c.o.Schedules == nil {
		c.fail(w, r, http.StatusNotFound, "This privaudit runs no schedules, so it has no run files.", "Go to the Reports page to download a report.")
		return
	}
	if r.Method != http.MethodGet {
		c.fail(w, r, http.StatusMethodNotAllowed, "A run file is downloaded with its link.", "Open the schedule's page and choose the file.")
		return
	}
	if crossSite(r) {
		c.fail(w, r, http.StatusForbidden, "This download was started from another site, so it was refused.",
			"Open the schedule's page in the console and choose the file there.")
		return
	}
	ctx := auth.WithIdentity(r.Context(), sessionFrom(r.Context()).Identity)
	err := c.o.Schedules.ServeFile(w, r.WithContext(ctx), r.PathValue("id"), r.PathValue("file"))
	var ae *apierr.Error
	switch {
	case err == nil:
	case errors.As(err, &ae) && ae.Code == apierr.NotFound:
		c.fail(w, r, http.StatusNotFound, ae.Message+".", "Go back to the schedule's page: a newer run may hold the file you need.")
	case errors.As(err, &ae):
		c.fail(w, r, http.StatusServiceUnavailable, ae.Message+".", "Try again in a minute.")
	default:
		c.o.Logger.Warn("console: run file", "err", err)
		c.fail(w, r, http.StatusServiceUnavailable, "The file could not be read.", "Try again in a minute; if it persists, ask an admin to check privaudit's log.")
	}
}
