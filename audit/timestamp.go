package audit

import (
	"time"
)

// parseRFC3339 parses an RFC 3339 date-time (section 5.6: optional
// fractional seconds, Z or a numeric offset; T and Z in either case) and
// returns it in UTC. On failure it may return a detail for the message.
func parseRFC3339(s string) (t time.Time, why string, ok bool) {
	if len(s) < len("2006-01-02T15:04:05Z") || s[4] != '-' || s[7] != '-' ||
		(s[10] != 'T' && s[10] != 't') || s[13] != ':' || s[16] != ':' {
		return t, "", false
	}
	year, ok1 := parseDigits(s[0:4])
	month, ok2 := parseDigits(s[5:7])
	day, ok3 := parseDigits(s[8:10])
	hour, ok4 := parseDigits(s[11:13])
	minute, ok5 := parseDigits(s[14:16])
	sec, ok6 := parseDigits(s[17:19])
	i, nsec := 19, 0
	if s[i] == '.' {
		j := i + 1
		for i = j; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
			if i-j < 9 {
				nsec = nsec*10 + int(s[i]-'0')
			}
		}
		for k := i - j; k < 9; k++ {
			nsec *= 10
		}
		ok1 = ok1 && i > j
	}
	offset, ok7 := parseOffset(s[i:])
	switch {
	case !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6 && ok7):
		return t, "", false
	case month < 1 || month > 12:
		return t, " (month out of range)", false
	case day < 1 || day > daysInMonth(month, year):
		return t, " (day out of range)", false
	case hour > 23 || minute > 59 || sec > 59:
		return t, " (time of day out of range)", false
	}
	unix := daysSinceEpoch(year, month, day)*86400 + int64(hour*3600+minute*60+sec-offset)
	return time.Unix(unix, int64(nsec)).UTC(), "", true
}

// parseOffset parses "Z" or "±hh:mm", returning seconds east of UTC.
func parseOffset(s string) (int, bool) {
	if s == "Z" || s == "z" {
		return 0, true
	}
	if len(s) != 6 || (s[0] != '+' && s[0] != '-') || s[3] != ':' {
		return 0, false
	}
	h, ok1 := parseDigits(s[1:3])
	m, ok2 := parseDigits(s[4:6])
	if !ok1 || !ok2 || h > 23 || m > 59 {
		return 0, false
	}
	if s[0] == '-' {
		return -(h*3600 + m*60), true
	}
	return h*3600 + m*60, true
}

// parseDigits parses a short string of decimal digits.
func parseDigits(s string) (int, bool) {
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i] - '0'
		if c > 9 {
			return 0, false
		}
		n = n*10 + int(c)
	}
	return n, true
}

func daysInMonth(month, year int) int {
	if month == 2 {
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	}
	return 30 + (month+month/8)%2
}

// daysSinceEpoch returns the days from 1970-01-01 to a proleptic Gregorian
// date of a year ≥ 0 (H. Hinnant's days_from_civil).
func daysSinceEpoch(year, month, day int) int64 {
	if month <= 2 {
		year--
	}
	era := (year + 400) / 400 // shifted so that year -1 works
	yoe := year + 400 - era*400
	doy := (153*((month+9)%12)+2)/5 + day - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return int64(era-1)*146097 + int64(doe) - 719468
}
