package xlsx

import (
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/privaudit/privaudit/reports/render"
)

// maxExactInt bounds the integers written as numbers: Excel keeps 15
// significant digits, so larger ones are written as their text.
const maxExactInt = 1e15

// Excel date serials: 1970-01-01 is day 25569 in the 1900 date system,
// which is exact from 1900-03-01 (after Excel's phantom 1900-02-29).
const (
	msPerDay        = 86_400_000
	unixEpochSerial = 25569
)

var (
	minExcelTime = time.Date(1900, 3, 1, 0, 0, 0, 0, time.UTC)
	maxExcelTime = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)
)

// setCell fills c with v as a cell of kind k and returns an upper estimate
// of the cell's XML size, or -1 when the cell stays empty.
func (d *detailWriter) setCell(c *excelize.Cell, k render.Kind, v any) int {
	c.StyleID = 0
	switch x := v.(type) {
	case nil:
		return -1
	case string:
		return textCell(c, x)
	case []string:
		return textCell(c, strings.Join(x, ";"))
	case time.Time:
		if x.IsZero() {
			return -1
		}
		serial, digits, ok := excelTimeIn(x, d.loc)
		if !ok {
			return textCell(c, render.Text(k, x))
		}
		c.Value, c.StyleID = serial, d.st.times[digits]
	case int64:
		return d.intCell(c, x)
	case int:
		return d.intCell(c, int64(x))
	case int32:
		return d.intCell(c, int64(x))
	case uint32:
		return d.intCell(c, int64(x))
	case uint64:
		if x >= maxExactInt {
			return textCell(c, strconv.FormatUint(x, 10))
		}
		return d.intCell(c, int64(x))
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return textCell(c, render.Text(k, x))
		}
		c.Value = x
	case bool:
		return textCell(c, strconv.FormatBool(x))
	default:
		return textCell(c, render.Text(k, v))
	}
	return cellOverhead
}

// intCell writes an integer as a number, or as text when Excel would round it.
func (d *detailWriter) intCell(c *excelize.Cell, x int64) int {
	if x <= -maxExactInt || x >= maxExactInt {
		return textCell(c, strconv.FormatInt(x, 10))
	}
	c.Value, c.StyleID = x, d.st.integer
	return cellOverhead
}

// textCell writes s as an inline string. XML escaping can grow text up to
// sixfold (" becomes &#34;), hence the estimate.
func textCell(c *excelize.Cell, s string) int {
	c.Value = s
	return cellOverhead + 6*len(s)
}

// excelTimeIn is excelTime of t's wall-clock time in loc.
func excelTimeIn(t time.Time, loc *time.Location) (serial float64, digits int, ok bool) {
	if loc == time.UTC {
		return excelTime(t)
	}
	_, off := t.In(loc).Zone()
	return excelTime(t.Add(time.Duration(off) * time.Second))
}

// excelTime converts t to an Excel date serial in the 1900 date system
// (UTC, truncated to the millisecond like render.TimeLayout) and says how
// many fraction digits render.TimeLayout prints for it. ok is false when
// Excel cannot hold t exactly: before 1900-03-01, after 9999, or with a
// millisecond fraction past year 4637 (15 significant digits no longer
// reach a millisecond).
//
// The serial is the decimal of at most 15 significant digits (all Excel
// keeps, and all LibreOffice reads) just above the exact instant, by less
// than 0.2 ms (2 ms for whole seconds past year 4637): Excel rounds a date to its displayed precision but
// LibreOffice truncates, and a serial a hair short of 12:00:01 would print
// as 12:00:00 there.
func excelTime(t time.Time) (serial float64, digits int, ok bool) {
	t = t.UTC()
	if t.Before(minExcelTime) || !t.Before(maxExcelTime) {
		return 0, 0, false
	}
	ms := t.UnixMilli()
	days, rem := ms/msPerDay, ms%msPerDay
	if rem < 0 {
		days, rem = days-1, rem+msPerDay
	}
	day := days + unixEpochSerial
	digits = fractionDigits(rem % 1000)
	k := min(15-len(strconv.FormatInt(day, 10)), 10) // decimals of the day fraction
	if k < 9 && digits > 0 {
		return 0, 0, false
	}
	pow := pow10[k]
	units := min((rem*pow+msPerDay-1)/msPerDay+1, pow-1) // ceil, plus one unit of slack
	// Both operands are exact integers below 2^53, so the quotient is the
	// double nearest the decimal, and FormatFloat prints that decimal.
	return float64(day*pow+units) / float64(pow), digits, true
}

// pow10 are the powers of ten up to 10^10.
var pow10 = [11]int64{1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10}

// fractionDigits is how many digits render.TimeLayout prints for a
// millisecond fraction (trailing zeros dropped).
func fractionDigits(ms int64) int {
	switch {
	case ms == 0:
		return 0
	case ms%100 == 0:
		return 1
	case ms%10 == 0:
		return 2
	}
	return 3
}
