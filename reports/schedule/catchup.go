package schedule

import (
	"context"
	"time"
)

// maxFireScan bounds the fire times scanned for missed runs (an @every 1s
// schedule down for a week has 604,800 of them).
const maxFireScan = 1_000_000

// catchUp runs the fires of j missed since its last successful scheduled
// run, oldest first, at most CatchUpLimit of them (the most recent). It
// holds j's lock throughout, so a cron fire meanwhile is skipped; it then
// looks again, so such a fire is caught up too.
func (s *Scheduler) catchUp(j *job) {
	j.lock.Lock()
	defer j.lock.Unlock()
	ctx := s.ctx
	tried := map[time.Time]bool{}
	for round := 0; round < 3; round++ {
		fires, dropped, err := s.missed(ctx, j, s.now())
		if err != nil {
			s.log.Error("schedule catch-up: cannot read the run history; nothing caught up", "schedule", j.cfg.Name, "err", err)
			return
		}
		if len(fires) == 0 {
			return
		}
		s.log.Info("schedule catch-up: running missed fires", "schedule", j.cfg.Name, "runs", len(fires),
			"oldest", fires[0], "newest", fires[len(fires)-1], "dropped_older", dropped)
		ran := 0
		for _, f := range fires {
			if s.isStopping() {
				return
			}
			ok, err := s.st.firedOK(ctx, j.cfg.Name, f)
			if err != nil {
				s.log.Error("schedule catch-up stopped", "schedule", j.cfg.Name, "err", err)
				return
			}
			if ok || tried[f] {
				continue
			}
			tried[f] = true
			s.execute(ctx, j, s.newRun(j, TriggerCatchUp, f, ""))
			ran++
		}
		if ran == 0 {
			return
		}
	}
}

// missed lists the fire times of j after its last successful scheduled run
// and at or before now, oldest first, keeping the newest CatchUpLimit;
// dropped counts the older ones left out. A schedule that never ran
// successfully has nothing to catch up.
func (s *Scheduler) missed(ctx context.Context, j *job, now time.Time) (fires []time.Time, dropped int, err error) {
	last, ok, err := s.st.lastSuccess(ctx, j.cfg.Name)
	if err != nil || !ok {
		return nil, 0, err
	}
	limit := j.cfg.CatchUpLimit
	f := last
	for range maxFireScan {
		f = j.sched.Next(f)
		if f.IsZero() || f.After(now) {
			break
		}
		fires = append(fires, f.UTC())
		if len(fires) > limit {
			fires = fires[1:]
			dropped++
		}
	}
	return fires, dropped, nil
}

func (s *Scheduler) isStopping() bool {
	select {
	case <-s.stopping:
		return true
	default:
		return false
	}
}
