package schedule

import (
	"time"

	"github.com/robfig/cron/v3"
)

// wallSchedule evaluates a cron spec on the wall clock of a time zone.
//
// robfig/cron evaluates a spec on absolute time in its zone, which on DST
// change days skips a fire whose wall time does not exist (02:30 on the
// spring-forward day: the nightly run is lost) and fires twice at a wall
// time that occurs twice (autumn). wallSchedule instead finds the next
// matching wall time and maps it to an instant the way time.Date does: a
// wall time in the gap fires shifted by the gap (02:30 → 03:30 summer
// time), a repeated wall time fires once (at its second occurrence).
type wallSchedule struct {
	spec *cron.SpecSchedule // Location UTC: the wall clock as if it were UTC
	loc  *time.Location
}

// Next returns the first fire strictly after t, in t's location.
func (w wallSchedule) Next(t time.Time) time.Time {
	local := t.In(w.loc)
	wall := time.Date(local.Year(), local.Month(), local.Day(), local.Hour(), local.Minute(), local.Second(),
		local.Nanosecond(), time.UTC)
	// A repeated wall time may map to an instant at or before t: look
	// further (a bounded number of times; a spec matches at most every
	// minute, and a repeated hour has 60 of them).
	for range 128 {
		wall = w.spec.Next(wall)
		if wall.IsZero() {
			return time.Time{}
		}
		at := time.Date(wall.Year(), wall.Month(), wall.Day(), wall.Hour(), wall.Minute(), wall.Second(), 0, w.loc)
		if at.After(t) {
			return at.In(t.Location())
		}
	}
	return time.Time{}
}

// period returns the window [from, to), in UTC, that a run fired at fired
// covers: the previous day, ISO week (Monday start) or month in the
// schedule's time zone, or the explicit window.
func (cc *compiled) period(fired time.Time) (from, to time.Time) {
	if cc.cfg.Period == Explicit {
		return cc.from, cc.to
	}
	return periodAt(cc.cfg.Period, fired, cc.loc)
}

// periodAt computes a relative period kind at fired in loc.
func periodAt(kind string, fired time.Time, loc *time.Location) (from, to time.Time) {
	l := fired.In(loc)
	y, m, d := l.Date()
	switch kind {
	case PreviousWeek:
		back := (int(l.Weekday()) + 6) % 7 // days since Monday
		from = time.Date(y, m, d-back-7, 0, 0, 0, 0, loc)
		to = time.Date(y, m, d-back, 0, 0, 0, 0, loc)
	case PreviousMonth:
		from = time.Date(y, m-1, 1, 0, 0, 0, 0, loc)
		to = time.Date(y, m, 1, 0, 0, 0, 0, loc)
	default: // PreviousDay
		from = time.Date(y, m, d-1, 0, 0, 0, 0, loc)
		to = time.Date(y, m, d, 0, 0, 0, 0, loc)
	}
	return from.UTC(), to.UTC()
}

// boundText formats a period bound or fire time for a file name: the date
// when it is midnight in loc (or in UTC), else a compact timestamp in loc.
func boundText(t time.Time, loc *time.Location) string {
	l := t.In(loc)
	if l.Hour() == 0 && l.Minute() == 0 && l.Second() == 0 {
		return l.Format(time.DateOnly)
	}
	u := t.UTC()
	if u.Equal(u.Truncate(24 * time.Hour)) {
		return u.Format(time.DateOnly)
	}
	return l.Format("2006-01-02T1504")
}
