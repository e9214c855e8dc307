package reports

import (
	"fmt"
	"time"
	_ "time/tzdata" // report time zones work on hosts without /usr/share/zoneinfo
)

// LoadZone returns the IANA time zone name (e.g. Europe/Paris) for the
// times a report shows; "" is UTC.
func LoadZone(name string) (*time.Location, error) {
	if name == "" {
		return time.UTC, nil
	}
	loc, err := time.LoadLocation(name)
	if err != nil || name == "Local" {
		return nil, fmt.Errorf("time zone %q: not an IANA time zone; use a name such as Europe/Paris, America/New_York or UTC", name)
	}
	return loc, nil
}

// dayLayout shows a date the way an officer reads it: 1 Oct 2026.
const dayLayout = "2 Jan 2006"

// PeriodText shows the period [from, to) in loc for people: dates when
// both bounds are midnights in loc, else dates and times, with "to"
// marked exclusive, e.g. "1 Oct 2026 – 1 Nov 2026 (to is exclusive: up
// to 31 Oct 2026 inclusive)". Manual and scheduled runs print their
// periods through it alike.
func PeriodText(from, to time.Time, loc *time.Location) string {
	from, to = from.In(loc), to.In(loc)
	if midnight(from) && midnight(to) {
		last := to.AddDate(0, 0, -1)
		return fmt.Sprintf("%s – %s (to is exclusive: up to %s inclusive)",
			from.Format(dayLayout), to.Format(dayLayout), last.Format(dayLayout))
	}
	const layout = dayLayout + " 15:04:05.999999999"
	return fmt.Sprintf("%s – %s (to is exclusive: up to, not including, %s)",
		from.Format(layout), to.Format(layout), to.Format(layout))
}

// boundText shows a period bound as it can be given back (ParseTime): the
// date of a UTC midnight, else RFC 3339 in loc.
func boundText(t time.Time, loc *time.Location) string {
	if loc == time.UTC && midnight(t.UTC()) {
		return t.UTC().Format(time.DateOnly)
	}
	return t.In(loc).Format(time.RFC3339Nano)
}

// RecordedBound formats a period bound as the trail's access events
// record it (a run's, a run-file download's): boundText in UTC.
func RecordedBound(t time.Time) string { return boundText(t, time.UTC) }

// midnight reports whether t is the start of its day in its zone.
func midnight(t time.Time) bool {
	return t.Hour() == 0 && t.Minute() == 0 && t.Second() == 0 && t.Nanosecond() == 0
}
