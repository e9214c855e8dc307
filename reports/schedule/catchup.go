package schedule

import (
	"context"
	"fmt"
	"time"
)

// maxFireScan bounds the fire times scanned for missed runs (an @every 1s
// schedule down for a week has 604,800 of them).
const maxFireScan = 1_000_000

// catchUp runs the fires of j missed since its last successful scheduled
// run, oldest first, at most CatchUpLimit of them (the most recent). The
// caller holds j's slot throughout, so a cron fire meanwhile waits; catchUp
// looks again after its round, so such a fire is caught up by it.
func (s *Scheduler) catchUp(j *job) {
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
			"oldest", fires[0], "newest", fires[len(fires)-1], "dropped_older", dropped.n)
		if round == 0 && dropped.n > 0 {
			s.skipDropped(j, dropped)
		}
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

// droppedFires are the missed fires catch_up_limit leaves out: how many,
// the oldest and the newest.
type droppedFires struct {
	n             int
	first, latest time.Time
}

// skipDropped records the fires catch_up_limit left out as one skipped run
// (fired at the newest of them).
func (s *Scheduler) skipDropped(j *job, d droppedFires) {
	r := s.newRun(j, TriggerCatchUp, d.latest, "")
	s.skip(r, fmt.Sprintf("skipped: %d missed fires from %s to %s are older than the newest catch_up_limit %d; not caught up",
		d.n, d.first.Format(time.RFC3339), d.latest.Format(time.RFC3339), j.cfg.CatchUpLimit))
}

// missed lists the fire times of j after its last successful scheduled run
// and at or before now, oldest first, keeping the newest CatchUpLimit;
// dropped describes the older ones left out. A schedule that never ran
// successfully has nothing to catch up.
func (s *Scheduler) missed(ctx context.Context, j *job, now time.Time) (fires []time.Time, dropped droppedFires, err error) {
	last, ok, err := s.st.lastSuccess(ctx, j.cfg.Name)
	if err != nil || !ok {
		return nil, dropped, err
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
			if dropped.n == 0 {
				dropped.first = fires[0]
			}
			dropped.latest = fires[0]
			fires = fires[1:]
			dropped.n++
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
