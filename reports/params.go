package reports

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/ClickHouse/clickhouse-go/v2"

	"github.com/privaudit/privaudit/audit"
	"github.com/privaudit/privaudit/audit/apierr"
	"github.com/privaudit/privaudit/queries"
)

// ParseTime reads a period bound: a UTC date (2026-10-01, meaning its
// midnight) or an RFC 3339 timestamp with optional fractional seconds. The
// result is in UTC.
func ParseTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is neither a date (2026-10-01) nor an RFC 3339 timestamp (2026-10-01T00:00:00Z)", s)
	}
	return t.UTC(), nil
}

// Period bounds privaudit accepts: events are not older than 2000 (SPEC
// §2.1) and nanosecond timestamps end in 2262.
var (
	minPeriod = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	maxPeriod = time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC)
)

// checkPeriod validates [from, to).
func checkPeriod(from, to time.Time) error {
	switch {
	case from.IsZero() || to.IsZero():
		return apierr.Errorf(apierr.Invalid, "a period is required: give from and to (dates like 2026-10-01 or RFC 3339 timestamps)")
	case !from.Before(to):
		return apierr.Errorf(apierr.Invalid, "empty period: from (%s) must be before to (%s); the period is [from, to)",
			from.UTC().Format(time.RFC3339Nano), to.UTC().Format(time.RFC3339Nano))
	case from.Before(minPeriod) || to.After(maxPeriod):
		return apierr.Errorf(apierr.Invalid, "period outside %s – %s", minPeriod.Format(time.DateOnly), maxPeriod.Format(time.DateOnly))
	}
	return nil
}

// bindParams checks the report parameters given against d and returns the
// resolved values (defaults filled in), in d's order, and their SQL
// arguments. The period is bound as @from_s, @to_s (Unix seconds, floor)
// and @from_ns, @to_ns (Unix nanoseconds), d.Bind's values by their names.
func bindParams(d Definition, from, to time.Time, given map[string]string) ([]resolvedParam, []any, error) {
	for k := range given {
		if !slices.ContainsFunc(d.Params, func(p ParamSpec) bool { return p.Name == k }) {
			return nil, nil, apierr.Errorf(apierr.Invalid, "report %s has no parameter %q%s; %s", d.Name, k, queries.DidYouMean(k, d.paramNames()), paramHelp(d))
		}
	}
	args := []any{
		clickhouse.Named("from_s", from.Unix()), clickhouse.Named("to_s", to.Unix()),
		clickhouse.Named("from_ns", from.UnixNano()), clickhouse.Named("to_ns", to.UnixNano()),
	}
	for _, name := range slices.Sorted(maps.Keys(d.Bind)) {
		args = append(args, clickhouse.Named(name, d.Bind[name]))
	}
	var out []resolvedParam
	values := map[string]string{}
	for _, p := range d.Params {
		v, ok := given[p.Name]
		if !ok || v == "" {
			if p.Required {
				return nil, nil, apierr.Errorf(apierr.Invalid, "report %s needs parameter %s (%s); pass it as --param %s=VALUE or param.%s=VALUE",
					d.Name, p.Name, p.Description, p.Name, p.Name)
			}
			v = p.Default
		}
		arg, err := p.bind(v)
		if err != nil {
			return nil, nil, apierr.Errorf(apierr.Invalid, "report %s parameter %s: %v", d.Name, p.Name, err)
		}
		out = append(out, resolvedParam{Name: p.Name, Value: v})
		args = append(args, clickhouse.Named(p.Name, arg))
		values[p.Name] = v
	}
	if d.Check != nil {
		if err := d.Check(values); err != nil {
			return nil, nil, apierr.Errorf(apierr.Invalid, "report %s: %v", d.Name, err)
		}
	}
	return out, args, nil
}

// paramNames lists d's parameter names, in d's order.
func (d Definition) paramNames() []string {
	out := make([]string, len(d.Params))
	for i, p := range d.Params {
		out[i] = p.Name
	}
	return out
}

// resolvedParam is a parameter's value as used by a run.
type resolvedParam struct{ Name, Value string }

// bind converts a parameter value to its SQL argument.
func (p ParamSpec) bind(v string) (any, error) {
	if !utf8.ValidString(v) || len(v) > 1024 {
		return nil, fmt.Errorf("must be valid UTF-8 of at most 1,024 bytes")
	}
	if err := audit.CheckText(v); err != nil {
		return nil, err
	}
	if p.Kind == ParamString {
		return v, nil
	}
	n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
	if err != nil {
		return nil, fmt.Errorf("%q is not a whole number", v)
	}
	if p.Max > p.Min && (n < p.Min || n > p.Max) {
		return nil, fmt.Errorf("%d is outside %d–%d", n, p.Min, p.Max)
	}
	return n, nil
}

// paramHelp lists a report's parameters for error messages.
func paramHelp(d Definition) string {
	if len(d.Params) == 0 {
		return "it takes only the period (from, to)"
	}
	var parts []string
	for _, p := range d.Params {
		s := p.Name
		if p.Required {
			s += " (required)"
		} else {
			s += " (default " + p.Default + ")"
		}
		parts = append(parts, s)
	}
	return "its parameters are " + strings.Join(parts, ", ")
}
