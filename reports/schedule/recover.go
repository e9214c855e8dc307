package schedule

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"time"
)

// tryLock takes j's run slot for a run of trigger, if it is free.
func (j *job) tryLock(trigger string) bool {
	select {
	case j.slot <- struct{}{}:
		j.holder.Store(trigger)
		return true
	default:
		return false
	}
}

// lock waits for j's run slot; false if stop is closed first.
func (j *job) lock(trigger string, stop <-chan struct{}) bool {
	select {
	case j.slot <- struct{}{}:
		j.holder.Store(trigger)
		return true
	case <-stop:
		return false
	}
}

// unlock frees j's run slot.
func (j *job) unlock() { <-j.slot }

// recoverJob runs at Start, holding j's slot: it marks the attempts an
// exit of privaudit interrupted as failed and runs their fires again
// (recoverInterrupted), then, with catch_up, the fires missed while
// privaudit was down (catchUp). A cron fire meanwhile waits its turn.
func (s *Scheduler) recoverJob(j *job) {
	if !j.lock(TriggerCatchUp, s.stopping) {
		return
	}
	defer j.unlock()
	s.recoverInterrupted(j)
	s.resumeDeliveries(j)
	if j.cfg.CatchUp {
		s.catchUp(j)
	}
}

// interruptedError is the error recorded for an attempt privaudit's exit
// interrupted.
const interruptedError = "interrupted: the privaudit process exited during the run (found 'running' at the next start and marked failed)"

// recoverInterrupted marks the attempts of j that this instance left
// 'running' as failed — none can still run: j's slot is held and
// privaudit has just started — and runs again, as catch-up runs, the
// scheduled fires among them that no run has produced since. Runs left by
// other instances (another host name) are not touched.
func (s *Scheduler) recoverInterrupted(j *job) {
	ctx := s.ctx
	runs, err := s.st.interrupted(ctx, j.cfg.Name, s.o.Instance)
	if err != nil {
		s.log.Error("schedule recovery: cannot read the run history; interrupted runs stay 'running'", "schedule", j.cfg.Name, "err", err)
		return
	}
	var redo []time.Time
	for _, r := range runs {
		r.Status, r.FinishedAt, r.Error = StatusFailed, s.now(), interruptedError
		s.record(r)
		s.log.Warn("scheduled run was interrupted by an exit of privaudit; marked failed", "schedule", r.Schedule,
			"run_id", r.ID, "attempt", r.Attempt, "trigger", r.Trigger, "started_at", r.StartedAt)
		if r.Trigger == TriggerSchedule && !slices.ContainsFunc(redo, r.FiredAt.Equal) {
			redo = append(redo, r.FiredAt)
		}
	}
	slices.SortFunc(redo, time.Time.Compare)
	for _, f := range redo {
		if s.isStopping() {
			return
		}
		ok, err := s.st.firedOK(ctx, j.cfg.Name, f)
		if err != nil {
			s.log.Error("schedule recovery stopped", "schedule", j.cfg.Name, "err", err)
			return
		}
		if !ok {
			s.log.Info("schedule recovery: running an interrupted fire again", "schedule", j.cfg.Name, "fired_at", f)
			s.execute(ctx, j, s.newRun(j, TriggerCatchUp, f, ""))
		}
	}
}

// partRE matches the names of createOutput's temporary files: "." + the
// output's name + "." + os.CreateTemp's random digits + ".part".
var partRE = regexp.MustCompile(`^\.[A-Za-z0-9._-]+\.[0-9]+\.part$`)

// removeOrphans deletes from j's folder the temporary files of runs an exit
// of privaudit interrupted: files named as createOutput names them, last
// modified before this scheduler was created (so never a file of a run of
// this process).
func (s *Scheduler) removeOrphans(j *job) {
	ents, err := os.ReadDir(j.dir)
	if err != nil {
		s.log.Warn("schedule recovery: cannot list the output folder", "schedule", j.cfg.Name, "err", err)
		return
	}
	removed := 0
	for _, e := range ents {
		if !e.Type().IsRegular() || !partRE.MatchString(e.Name()) {
			continue
		}
		info, err := e.Info()
		if err != nil || !info.ModTime().Before(s.created) {
			continue
		}
		if err := os.Remove(filepath.Join(j.dir, e.Name())); err != nil {
			s.log.Warn("schedule recovery: cannot delete a temporary file", "schedule", j.cfg.Name, "file", e.Name(), "err", err)
			continue
		}
		removed++
	}
	if removed > 0 {
		s.log.Info("schedule recovery: temporary files of interrupted runs deleted", "schedule", j.cfg.Name, "files", removed)
	}
}
