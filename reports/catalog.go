package reports

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/privaudit/privaudit/queries"
)

// Catalog is a set of report definitions, listed by name.
type Catalog struct {
	defs   []Definition
	byName map[string]int
}

// builtin holds the reports of this package; each report's file adds itself
// with register in an init function.
var builtin []Definition

func register(d Definition) { builtin = append(builtin, d) }

// Default returns the catalog of privaudit's built-in reports (SPEC §4).
func Default() *Catalog {
	c, err := NewCatalog(builtin...)
	if err != nil {
		panic(err) // a built-in definition is wrong: caught by the package tests
	}
	return c
}

var (
	reportNameRE = regexp.MustCompile(`^[a-z][a-z0-9-]{0,63}$`)
	paramNameRE  = regexp.MustCompile(`^[a-z][a-z0-9_]{0,63}$`)
	reservedArgs = []string{"from", "to", "from_s", "to_s", "from_ns", "to_ns", "format"} // and f_*: the filters
)

// NewCatalog checks defs and returns them as a catalog sorted by name.
func NewCatalog(defs ...Definition) (*Catalog, error) {
	c := &Catalog{defs: make([]Definition, len(defs)), byName: map[string]int{}}
	for i, d := range defs {
		c.defs[i] = withWords(d)
	}
	slices.SortFunc(c.defs, func(a, b Definition) int { return strings.Compare(a.Name, b.Name) })
	for i, d := range c.defs {
		if err := d.check(); err != nil {
			return nil, err
		}
		if _, dup := c.byName[d.Name]; dup {
			return nil, fmt.Errorf("report %s is defined twice", d.Name)
		}
		c.byName[d.Name] = i
	}
	return c, nil
}

// check validates a definition's shape (its SQL is checked by NewRunner).
func (d Definition) check() error {
	switch {
	case !reportNameRE.MatchString(d.Name):
		return fmt.Errorf("report name %q: want lower-case letters, digits and -", d.Name)
	case d.SQL == "" || len(d.Columns) == 0:
		return fmt.Errorf("report %s: SQL and Columns are required", d.Name)
	case len(d.Categories) == 0:
		return fmt.Errorf("report %s: Categories (recorded on each run) are required", d.Name)
	case d.Transform != nil && (len(d.Transform.From) == 0 || d.Transform.Rows == nil):
		return fmt.Errorf("report %s: a Transform needs the SQL's columns (From) and Rows", d.Name)
	case d.Audience != AudienceOfficer && d.Audience != AudienceCustomer:
		return fmt.Errorf("report %s: unknown audience %q", d.Name, d.Audience)
	}
	for _, p := range d.Params {
		if !paramNameRE.MatchString(p.Name) || slices.Contains(reservedArgs, p.Name) || strings.HasPrefix(p.Name, "f_") {
			return fmt.Errorf("report %s: parameter name %q is not allowed", d.Name, p.Name)
		}
		if p.Kind != ParamString && p.Kind != ParamInt {
			return fmt.Errorf("report %s: parameter %s: unknown kind %q", d.Name, p.Name, p.Kind)
		}
	}
	for name := range d.Bind {
		if !paramNameRE.MatchString(name) || slices.Contains(reservedArgs, name) || strings.HasPrefix(name, "f_") ||
			slices.ContainsFunc(d.Params, func(p ParamSpec) bool { return p.Name == name }) {
			return fmt.Errorf("report %s: bound value name %q is not allowed (a parameter's or a reserved name)", d.Name, name)
		}
	}
	for i, f := range d.Filters {
		if _, ok := lookupFilter(f); !ok || slices.Contains(d.Filters[:i], f) {
			return fmt.Errorf("report %s: filter %q is unknown or listed twice; the filters are %s", d.Name, f, strings.Join(FilterNames(), ", "))
		}
	}
	if d.SubjectParam != "" && !slices.ContainsFunc(d.Params, func(p ParamSpec) bool { return p.Name == d.SubjectParam && p.Required }) {
		return fmt.Errorf("report %s: SubjectParam %s must be a required parameter", d.Name, d.SubjectParam)
	}
	return nil
}

// Lookup returns the definition named name.
func (c *Catalog) Lookup(name string) (Definition, bool) {
	i, ok := c.byName[name]
	if !ok {
		return Definition{}, false
	}
	return c.defs[i], true
}

// Unknown describes a report name the catalog lacks, suggesting the
// nearest name and listing the catalog.
func (c *Catalog) Unknown(name string) string {
	names := c.Names()
	return fmt.Sprintf("unknown report %q%s; the catalog has: %s", name, queries.DidYouMean(name, names), strings.Join(names, ", "))
}

// List returns every definition, sorted by name.
func (c *Catalog) List() []Definition { return slices.Clone(c.defs) }

// Names returns the report names, sorted.
func (c *Catalog) Names() []string {
	out := make([]string, len(c.defs))
	for i, d := range c.defs {
		out[i] = d.Name
	}
	return out
}
