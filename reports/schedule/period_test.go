package schedule

import (
	"strings"
	"testing"
	"time"
)

func mustLoc(t *testing.T, name string) *time.Location {
	t.Helper()
	l, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func utc(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t.UTC()
}

func TestParseSpec(t *testing.T) {
	for _, c := range []struct {
		spec, zone string
		from, next string // next fire after from, UTC
	}{
		{"0 2 * * *", "", "2026-06-10T12:00:00Z", "2026-06-11T02:00:00Z"},
		{"0 2 * * *", "Europe/Berlin", "2026-06-10T12:00:00Z", "2026-06-11T00:00:00Z"},
		{"CRON_TZ=Europe/Berlin 0 2 * * *", "", "2026-06-10T12:00:00Z", "2026-06-11T00:00:00Z"},
		{"TZ=America/New_York 0 2 * * *", "America/New_York", "2026-06-10T12:00:00Z", "2026-06-11T06:00:00Z"},
		{"@daily", "", "2026-06-10T12:00:00Z", "2026-06-11T00:00:00Z"},
		{"@weekly", "", "2026-06-10T12:00:00Z", "2026-06-14T00:00:00Z"}, // Sunday
		{"@monthly", "Asia/Tokyo", "2026-06-10T12:00:00Z", "2026-06-30T15:00:00Z"},
		{"0 3 * * 1", "", "2026-06-10T12:00:00Z", "2026-06-15T03:00:00Z"}, // Monday
		{"0 4 1 * *", "", "2026-12-10T12:00:00Z", "2027-01-01T04:00:00Z"},
		{"@every 90m", "", "2026-06-10T12:00:00Z", "2026-06-10T13:30:00Z"},
	} {
		_, s, err := parseSpec(c.spec, c.zone)
		if err != nil {
			t.Errorf("%q %q: %v", c.spec, c.zone, err)
			continue
		}
		if got := s.Next(utc(c.from)).UTC(); !got.Equal(utc(c.next)) {
			t.Errorf("%q in %q: next after %s = %s, want %s", c.spec, c.zone, c.from, got.Format(time.RFC3339), c.next)
		}
	}
	for _, c := range []struct{ spec, zone, want string }{
		{"", "", "cron is required"},
		{"0 2 * *", "", "want 5 fields"},
		{"0 2 * * * *", "", "want 5 fields"},
		{"61 2 * * *", "", "cron \"61 2 * * *\""},
		{"@fortnightly", "", "unrecognized descriptor"},
		{"@every 10ms", "", "at least 1s"},
		{"0 2 * * *", "Mars/Olympus", "not an IANA time zone"},
		{"0 2 * * *", "Local", "not an IANA time zone"},
		{"CRON_TZ=Nowhere 0 2 * * *", "", "not an IANA time zone"},
		{"CRON_TZ=Europe/Berlin 0 2 * * *", "Europe/Paris", "disagrees with timezone"},
	} {
		_, _, err := parseSpec(c.spec, c.zone)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q %q: error %v, want it to contain %q", c.spec, c.zone, err, c.want)
		}
	}
}

// fires lists the fire times of spec in zone within [from, to).
func fires(t *testing.T, spec, zone string, from, to time.Time) []time.Time {
	t.Helper()
	_, s, err := parseSpec(spec, zone)
	if err != nil {
		t.Fatal(err)
	}
	var out []time.Time
	for f := s.Next(from.Add(-time.Second)); f.Before(to); f = s.Next(f) {
		if len(out) > 0 && !f.After(out[len(out)-1]) {
			t.Fatalf("%s: fire %s does not advance past %s", spec, f, out[len(out)-1])
		}
		out = append(out, f.UTC())
	}
	return out
}

// TestDSTChangeDays: a nightly 02:00 Europe/Berlin schedule fires once on
// both DST change days of 2026 (robfig/cron alone loses the spring run and
// fires twice in autumn), and the previous-day periods are 23 h and 25 h.
func TestDSTChangeDays(t *testing.T) {
	berlin := mustLoc(t, "Europe/Berlin")
	// Spring: 2026-03-29 02:00 does not exist (02:00 CET → 03:00 CEST).
	got := fires(t, "0 2 * * *", "Europe/Berlin", utc("2026-03-28T00:00:00Z"), utc("2026-03-31T00:00:00Z"))
	want := []time.Time{utc("2026-03-28T01:00:00Z"), utc("2026-03-29T01:00:00Z"), utc("2026-03-30T00:00:00Z")}
	if !equalTimes(got, want) {
		t.Errorf("spring fires %v, want %v (03:00 CEST on the change day)", got, want)
	}
	// Autumn: 2026-10-25 02:00 happens twice (CEST, then CET): one fire.
	got = fires(t, "0 2 * * *", "Europe/Berlin", utc("2026-10-24T00:00:00Z"), utc("2026-10-27T00:00:00Z"))
	want = []time.Time{utc("2026-10-24T00:00:00Z"), utc("2026-10-25T01:00:00Z"), utc("2026-10-26T01:00:00Z")}
	if !equalTimes(got, want) {
		t.Errorf("autumn fires %v, want %v", got, want)
	}
	// A half-hourly spec: every wall time of the day fires once — 46 on
	// the 23-hour day, 48 on the 25-hour day.
	if n := len(fires(t, "*/30 * * * *", "Europe/Berlin", utc("2026-03-28T23:00:00Z"), utc("2026-03-29T22:00:00Z"))); n != 46 {
		t.Errorf("spring day: %d half-hourly fires, want 46", n)
	}
	if n := len(fires(t, "*/30 * * * *", "Europe/Berlin", utc("2026-10-24T22:00:00Z"), utc("2026-10-25T23:00:00Z"))); n != 48 {
		t.Errorf("autumn day: %d half-hourly fires, want 48", n)
	}
	// @daily (midnight) exists on both days.
	got = fires(t, "@daily", "Europe/Berlin", utc("2026-03-28T12:00:00Z"), utc("2026-03-30T12:00:00Z"))
	if want := []time.Time{utc("2026-03-28T23:00:00Z"), utc("2026-03-29T22:00:00Z")}; !equalTimes(got, want) {
		t.Errorf("@daily fires %v, want %v", got, want)
	}
	for _, c := range []struct {
		fired    string
		from, to string
		hours    float64
	}{
		{"2026-03-29T01:00:00Z", "2026-03-27T23:00:00Z", "2026-03-28T23:00:00Z", 24}, // run on the change day covers the 28th
		{"2026-03-30T00:00:00Z", "2026-03-28T23:00:00Z", "2026-03-29T22:00:00Z", 23}, // the change day itself
		{"2026-10-26T01:00:00Z", "2026-10-24T22:00:00Z", "2026-10-25T23:00:00Z", 25},
	} {
		from, to := periodAt(PreviousDay, utc(c.fired), berlin)
		if !from.Equal(utc(c.from)) || !to.Equal(utc(c.to)) || to.Sub(from).Hours() != c.hours {
			t.Errorf("previous day at %s: [%s, %s) (%v h), want [%s, %s) (%v h)", c.fired, from, to, to.Sub(from).Hours(), c.from, c.to, c.hours)
		}
	}
}

func equalTimes(a, b []time.Time) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !a[i].Equal(b[i]) {
			return false
		}
	}
	return true
}

func TestPeriodBoundaries(t *testing.T) {
	berlin := mustLoc(t, "Europe/Berlin")
	for _, c := range []struct {
		kind     string
		loc      *time.Location
		fired    string
		from, to string
	}{
		{PreviousDay, time.UTC, "2026-03-01T00:00:00Z", "2026-02-28T00:00:00Z", "2026-03-01T00:00:00Z"}, // month end, at midnight
		{PreviousDay, time.UTC, "2028-03-01T02:00:00Z", "2028-02-29T00:00:00Z", "2028-03-01T00:00:00Z"}, // leap day
		{PreviousDay, time.UTC, "2027-01-01T02:00:00Z", "2026-12-31T00:00:00Z", "2027-01-01T00:00:00Z"}, // year end
		{PreviousDay, time.UTC, "2026-06-10T23:59:59Z", "2026-06-09T00:00:00Z", "2026-06-10T00:00:00Z"},
		{PreviousDay, berlin, "2026-06-10T22:30:00Z", "2026-06-09T22:00:00Z", "2026-06-10T22:00:00Z"},    // already the 11th in Berlin
		{PreviousWeek, time.UTC, "2026-01-05T03:00:00Z", "2025-12-29T00:00:00Z", "2026-01-05T00:00:00Z"}, // ISO week 1 of 2026 spans the year end
		{PreviousWeek, time.UTC, "2026-01-04T23:00:00Z", "2025-12-22T00:00:00Z", "2025-12-29T00:00:00Z"}, // a Sunday
		{PreviousWeek, time.UTC, "2026-01-05T00:00:00Z", "2025-12-29T00:00:00Z", "2026-01-05T00:00:00Z"}, // Monday midnight
		{PreviousWeek, time.UTC, "2028-03-06T03:00:00Z", "2028-02-28T00:00:00Z", "2028-03-06T00:00:00Z"}, // a week with Feb 29
		{PreviousWeek, berlin, "2026-03-30T01:00:00Z", "2026-03-22T23:00:00Z", "2026-03-29T22:00:00Z"},   // 167 hours
		{PreviousMonth, time.UTC, "2026-03-01T04:00:00Z", "2026-02-01T00:00:00Z", "2026-03-01T00:00:00Z"},
		{PreviousMonth, time.UTC, "2026-03-31T23:59:59Z", "2026-02-01T00:00:00Z", "2026-03-01T00:00:00Z"}, // month end
		{PreviousMonth, time.UTC, "2028-03-01T04:00:00Z", "2028-02-01T00:00:00Z", "2028-03-01T00:00:00Z"}, // leap February
		{PreviousMonth, time.UTC, "2027-01-01T04:00:00Z", "2026-12-01T00:00:00Z", "2027-01-01T00:00:00Z"}, // year end
		{PreviousMonth, berlin, "2026-04-01T02:00:00Z", "2026-02-28T23:00:00Z", "2026-03-31T22:00:00Z"},
	} {
		from, to := periodAt(c.kind, utc(c.fired), c.loc)
		if !from.Equal(utc(c.from)) || !to.Equal(utc(c.to)) {
			t.Errorf("%s at %s in %s: [%s, %s), want [%s, %s)", c.kind, c.fired, c.loc,
				from.Format(time.RFC3339), to.Format(time.RFC3339), c.from, c.to)
		}
		if from.Location() != time.UTC || to.Location() != time.UTC {
			t.Errorf("%s: period not in UTC", c.kind)
		}
	}
	cc, err := compile(Config{Name: "q3", Cron: "@daily", Report: "disclosures", Period: Explicit, From: "2026-07-01", To: "2026-10-01T00:00:00+02:00"})
	if err != nil {
		t.Fatal(err)
	}
	if from, to := cc.period(utc("2027-05-05T00:00:00Z")); !from.Equal(utc("2026-07-01T00:00:00Z")) || !to.Equal(utc("2026-09-30T22:00:00Z")) {
		t.Errorf("explicit: [%s, %s)", from, to)
	}
}

func TestFileNames(t *testing.T) {
	berlin := mustLoc(t, "Europe/Berlin")
	j := &job{compiled: &compiled{cfg: Config{Name: "nightly", Report: "disclosures",
		Filename: "{schedule}-{report}_{from}_{to}_{fired}_{run}.{ext}"}, loc: berlin}}
	r := Run{ID: "0123456789abcdef", FiredAt: utc("2026-03-29T01:00:00Z"), From: utc("2026-03-27T23:00:00Z"), To: utc("2026-03-28T23:00:00Z")}
	if got, want := j.fileName(r, "xlsx"), "nightly-disclosures_2026-03-28_2026-03-29_2026-03-29T030000_01234567.xlsx"; got != want {
		t.Errorf("file name %q, want %q", got, want)
	}
	// An explicit UTC window in a Berlin schedule, and a non-midnight bound.
	r.From, r.To = utc("2026-07-01T00:00:00Z"), utc("2026-07-01T10:30:00Z")
	if got, want := j.fileName(r, "csv"), "nightly-disclosures_2026-07-01_2026-07-01T1230_2026-03-29T030000_01234567.csv"; got != want {
		t.Errorf("file name %q, want %q", got, want)
	}
}

// TestWithRun: every pattern names each run's files apart.
func TestWithRun(t *testing.T) {
	for p, want := range map[string]string{
		"{report}_{from}_{to}.{ext}":  "{report}_{from}_{to}_{run}.{ext}",
		"{report}_{run}_{from}.{ext}": "{report}_{run}_{from}.{ext}",
		"{schedule}.csv":              "{schedule}_{run}.csv",
		"{report}":                    "{report}_{run}",
		"{report}_{fired}.v2.{ext}":   "{report}_{fired}.v2_{run}.{ext}",
		"weekly.{report}_{from}":      "weekly.{report}_{from}_{run}",
	} {
		if got := withRun(p); got != want {
			t.Errorf("withRun(%q) = %q, want %q", p, got, want)
		}
	}
}
