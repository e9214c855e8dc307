package reports

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/ClickHouse/clickhouse-go/v2"

	"github.com/privaudit/privaudit/audit"
	"github.com/privaudit/privaudit/audit/apierr"
	"github.com/privaudit/privaudit/queries"
)

// FilterSpec describes one report filter (SPEC §4: every report takes
// filters). A filter keeps the rows whose column equals its value (see
// queries/reports/verdicts.sql); a given filter's condition is part of the
// statements, its value bound as @f_NAME, and an absent one is not. One
// value per filter: filters of different names must all match.
type FilterSpec struct {
	Name string `json:"name"`
	// Label is the filter's name in plain words, as reports state it.
	Label       string `json:"label"`
	Description string `json:"description"`
	// Allowed, if set, lists the only values the filter accepts.
	Allowed []string `json:"allowed,omitempty"`
}

// FilterSpecs are the filters privaudit knows, in display order. Which of them
// a report applies is its Definition.Filters; how each applies to access
// events and to consent events is the "access_filter" and "consent_filter"
// fragments of queries/reports/verdicts.sql.
var FilterSpecs = []FilterSpec{
	{Name: "recipient", Label: "Recipient", Description: "only this recipient (recipient_id)"},
	{Name: "recipient_type", Label: "Recipient type", Description: "only recipients of this type", Allowed: audit.RecipientTypes},
	{Name: "data_category", Label: "Data category", Description: "only accesses or consents that include this data category"},
	{Name: "purpose", Label: "Purpose", Description: "only this purpose (consents: those whose purposes include it)"},
	{Name: "verdict", Label: "Verdict", Description: "only accesses with this verdict (SPEC §3)", Allowed: audit.VerdictNames()},
	{Name: "jurisdiction", Label: "Jurisdiction", Description: "only this jurisdiction"},
	{Name: "actor", Label: "Actor", Description: "only accesses by this actor (actor_id)"},
}

// FilterNames lists the names of FilterSpecs, in display order.
func FilterNames() []string {
	out := make([]string, len(FilterSpecs))
	for i, f := range FilterSpecs {
		out[i] = f.Name
	}
	return out
}

// AllFilters is the Definition.Filters of a report that reads access
// events with their verdicts: every filter applies.
var AllFilters = FilterNames()

// ConsentFilters are the filters that apply to consent events: a consent
// has no recipient type, verdict or actor.
var ConsentFilters = []string{"recipient", "data_category", "purpose", "jurisdiction"}

// filterArg is the SQL parameter a filter is bound to.
func filterArg(name string) string { return "f_" + name }

// lookupFilter returns the filter named name.
func lookupFilter(name string) (FilterSpec, bool) {
	i := slices.IndexFunc(FilterSpecs, func(f FilterSpec) bool { return f.Name == name })
	if i < 0 {
		return FilterSpec{}, false
	}
	return FilterSpecs[i], true
}

// check validates a filter value.
func (f FilterSpec) check(v string) error {
	switch {
	case strings.TrimSpace(v) == "":
		return fmt.Errorf("needs a value: give --filter %s=VALUE or filter.%s=VALUE", f.Name, f.Name)
	case !utf8.ValidString(v) || len(v) > 1024:
		return fmt.Errorf("must be valid UTF-8 of at most 1,024 bytes")
	case len(f.Allowed) > 0 && !slices.Contains(f.Allowed, v):
		return fmt.Errorf("%q is not one of %s", v, strings.Join(f.Allowed, ", "))
	}
	return audit.CheckText(v)
}

// bindFilters checks the filters given against d and returns them, in
// display order, with their SQL arguments (@f_NAME).
func bindFilters(d Definition, given map[string]string) ([]resolvedParam, []any, error) {
	for _, k := range slices.Sorted(maps.Keys(given)) {
		v := given[k]
		f, ok := lookupFilter(k)
		if !ok {
			return nil, nil, apierr.Errorf(apierr.Invalid, "unknown filter %q%s; the filters are %s", k,
				queries.DidYouMean(k, FilterNames()), strings.Join(FilterNames(), ", "))
		}
		if !slices.Contains(d.Filters, k) {
			return nil, nil, apierr.Errorf(apierr.Invalid, "report %s does not take filter %s; %s", d.Name, k, filterHelp(d))
		}
		if err := f.check(v); err != nil {
			return nil, nil, apierr.Errorf(apierr.Invalid, "filter %s: %v", k, err)
		}
	}
	var out []resolvedParam
	var args []any
	for _, f := range FilterSpecs {
		if v, ok := given[f.Name]; ok {
			out = append(out, resolvedParam{Name: f.Name, Value: v})
			args = append(args, clickhouse.Named(filterArg(f.Name), v))
		}
	}
	return out, args, nil
}

// filterSet is what the report SQL templates test with Filtered: every
// filter, true for those given.
func filterSet(given []resolvedParam) map[string]bool {
	set := make(map[string]bool, len(FilterSpecs))
	for _, f := range FilterSpecs {
		set[f.Name] = false
	}
	for _, f := range given {
		set[f.Name] = true
	}
	return set
}

// filterHelp lists the filters a report takes, for error messages.
func filterHelp(d Definition) string {
	if len(d.Filters) == 0 {
		return "it takes no filters"
	}
	return "it takes " + strings.Join(d.Filters, ", ")
}
