package queries

import (
	"embed"
	"fmt"
	"io/fs"
	"math"
	"path"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/ClickHouse/clickhouse-go/v2"
)

//go:embed saved/*.sql
var savedFiles embed.FS

// ParamTypes are the types a saved query parameter may have.
var ParamTypes = []string{"String", "Date", "DateTime", "UInt64", "Int64", "Float64"}

// SavedParam is one typed parameter of a saved query, declared in its header
// as `-- param: NAME TYPE [= DEFAULT] [description]`. A parameter without a
// default is required; `= ”` makes an optional String that is empty unless
// given.
type SavedParam struct {
	Name        string `json:"name"`
	Type        string `json:"type"`
	Required    bool   `json:"required"`
	Default     string `json:"default,omitempty"`
	Description string `json:"description,omitempty"`
}

// SavedQuery is one query of the saved query library. A file
// queries/saved/NAME.sql holds a header of `-- title:`, `-- description:`
// and `-- param:` lines, then one read statement that uses its parameters
// as @name placeholders; it is the saved query NAME. A file may instead
// declare variants, `-- variant: NAME VALUE TITLE` lines: it is then one
// saved query per variant, each with its own name and title, sharing the
// description, parameters and statement, in which @variant is bound to the
// variant's VALUE.
type SavedQuery struct {
	Name        string       `json:"name"`
	Title       string       `json:"title"`
	Description string       `json:"description"`
	Params      []SavedParam `json:"params"`
	path        string
	variant     string         // the value bound to @variant, for a variant
	variants    []savedVariant // while parsing a file that declares variants
}

// savedVariant is one `-- variant:` line of a saved query file.
type savedVariant struct {
	name, value, title string
}

// variantParam is the placeholder a file with variants binds to the
// variant's value.
const variantParam = "variant"

var loadSaved = sync.OnceValues(func() ([]SavedQuery, error) { return readSaved(savedFiles) })

// readSaved parses the saved query files saved/*.sql of fsys, sorted by
// name; a name defined twice is an error.
func readSaved(fsys fs.FS) ([]SavedQuery, error) {
	ents, err := fs.ReadDir(fsys, "saved")
	if err != nil {
		return nil, fmt.Errorf("list saved queries: %w", err)
	}
	var out []SavedQuery
	for _, e := range ents {
		p := path.Join("saved", e.Name())
		src, err := fs.ReadFile(fsys, p)
		if err != nil {
			return nil, fmt.Errorf("read saved query %s: %w", e.Name(), err)
		}
		q, err := parseSaved(strings.TrimSuffix(e.Name(), ".sql"), string(src))
		if err != nil {
			return nil, err
		}
		q.path = p
		out = append(out, q.expand()...)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	for i := 1; i < len(out); i++ {
		if out[i].Name == out[i-1].Name {
			return nil, fmt.Errorf("saved query %s is defined twice (%s, %s)", out[i].Name, out[i-1].path, out[i].path)
		}
	}
	return out, nil
}

// expand returns the saved queries of one parsed file: itself, or one per
// variant it declares.
func (q SavedQuery) expand() []SavedQuery {
	if len(q.variants) == 0 {
		return []SavedQuery{q}
	}
	out := make([]SavedQuery, len(q.variants))
	for i, v := range q.variants {
		vq := q
		vq.Name, vq.Title, vq.variant, vq.variants = v.name, v.title, v.value, nil
		out[i] = vq
	}
	return out
}

// Saved lists the saved query library, by name.
func Saved() ([]SavedQuery, error) {
	all, err := loadSaved()
	return slices.Clone(all), err
}

// LookupSaved returns the saved query called name, or a *QueryError of kind
// ErrNotFound.
func LookupSaved(name string) (SavedQuery, error) {
	all, err := Saved()
	if err != nil {
		return SavedQuery{}, err
	}
	names := make([]string, len(all))
	for i, q := range all {
		if q.Name == name {
			return q, nil
		}
		names[i] = q.Name
	}
	return SavedQuery{}, &QueryError{Kind: ErrNotFound,
		Message: fmt.Sprintf("no saved query %q%s; the saved queries are: %s", name, DidYouMean(name, names), strings.Join(names, ", "))}
}

// SQL returns the query's statement rendered for schema s, without its
// header.
func (q SavedQuery) SQL(s Schema) (string, error) {
	src, err := Render(savedFiles, q.path, s)
	if err != nil {
		return "", fmt.Errorf("saved query %s: %w", q.Name, err)
	}
	_, body := splitHeader(src)
	return body, nil
}

// Bind checks params against the declared parameters — every required one
// given, none unknown, each value parseable as its type — and returns them
// as clickhouse.Named arguments for Query.Args. Values are bound by the
// driver, never spliced into the SQL text. An error is a *QueryError of
// kind ErrInvalid; it never repeats a value (values may be personal data).
func (q SavedQuery) Bind(params map[string]string) ([]any, error) {
	var problems []string
	declared := make([]string, len(q.Params))
	for i, p := range q.Params {
		declared[i] = p.Name
	}
	for name := range params {
		if !slices.Contains(declared, name) {
			problems = append(problems, fmt.Sprintf("unknown parameter %q%s", name, DidYouMean(name, declared)))
		}
	}
	args := make([]any, 0, len(q.Params)+1)
	if q.variant != "" {
		args = append(args, clickhouse.Named(variantParam, q.variant))
	}
	for _, p := range q.Params {
		raw, ok := params[p.Name]
		if !ok {
			if p.Required {
				problems = append(problems, fmt.Sprintf("parameter %q (%s) is required", p.Name, p.Type))
				continue
			}
			raw = p.Default
		}
		v, err := parseParam(p.Type, raw)
		if err != nil {
			problems = append(problems, fmt.Sprintf("parameter %q: %v", p.Name, err))
			continue
		}
		args = append(args, clickhouse.Named(p.Name, v))
	}
	if len(problems) > 0 {
		sort.Strings(problems)
		return nil, &QueryError{Kind: ErrInvalid, Message: fmt.Sprintf("saved query %s: %s (it takes: %s)",
			q.Name, strings.Join(problems, "; "), q.Signature())}
	}
	return args, nil
}

// Signature lists the parameters as "name Type, [name Type = default]".
func (q SavedQuery) Signature() string {
	if len(q.Params) == 0 {
		return "no parameters"
	}
	parts := make([]string, len(q.Params))
	for i, p := range q.Params {
		parts[i] = p.Name + " " + p.Type
		if !p.Required {
			parts[i] = "[" + parts[i] + " = " + strconv.Quote(p.Default) + "]"
		}
	}
	return strings.Join(parts, ", ")
}

// parseParam parses raw as a value of type typ.
func parseParam(typ, raw string) (any, error) {
	switch typ {
	case "String":
		if !utf8.ValidString(raw) {
			return nil, fmt.Errorf("not valid UTF-8")
		}
		return raw, nil
	case "Date":
		t, err := time.Parse(time.DateOnly, strings.TrimSpace(raw))
		if err != nil {
			return nil, fmt.Errorf("not a Date (want YYYY-MM-DD)")
		}
		return t, nil
	case "DateTime":
		return parseDateTime(strings.TrimSpace(raw))
	case "UInt64":
		n, err := strconv.ParseUint(strings.TrimSpace(raw), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("not a UInt64 (want a whole number ≥ 0)")
		}
		return n, nil
	case "Int64":
		n, err := strconv.ParseInt(strings.TrimSpace(raw), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("not an Int64 (want a whole number)")
		}
		return n, nil
	case "Float64":
		f, err := strconv.ParseFloat(strings.TrimSpace(raw), 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return nil, fmt.Errorf("not a Float64 (want a finite number)")
		}
		return f, nil
	}
	return nil, fmt.Errorf("unknown type %s", typ)
}

var dateTimeLayouts = []string{time.RFC3339Nano, "2006-01-02T15:04:05", time.DateTime, time.DateOnly}

func parseDateTime(raw string) (any, error) {
	for _, l := range dateTimeLayouts {
		if t, err := time.Parse(l, raw); err == nil {
			return t.UTC().Truncate(time.Second), nil
		}
	}
	return nil, fmt.Errorf("not a DateTime (want RFC 3339, e.g. 2024-05-01T13:00:00Z, or YYYY-MM-DD hh:mm:ss in UTC)")
}

var (
	headerRE = regexp.MustCompile(`^--\s*([a-z]+):\s*(.*)$`)
	paramRE  = regexp.MustCompile(`^([A-Za-z_][A-Za-z0-9_]*)\s+([A-Za-z0-9]+)(?:\s*=\s*(''|""|\S+))?\s*(.*)$`)
)

// splitHeader separates the leading comment lines of a saved query file
// from its statement.
func splitHeader(src string) (header []string, body string) {
	lines := strings.Split(src, "\n")
	i := 0
	for ; i < len(lines); i++ {
		l := strings.TrimSpace(lines[i])
		if l != "" && !strings.HasPrefix(l, "--") {
			break
		}
		header = append(header, l)
	}
	return header, strings.TrimSpace(strings.Join(lines[i:], "\n"))
}

// parseSaved parses and checks one saved query file.
func parseSaved(name, src string) (SavedQuery, error) {
	q := SavedQuery{Name: name}
	fail := func(format string, args ...any) (SavedQuery, error) {
		return SavedQuery{}, fmt.Errorf("saved query %s: "+format, append([]any{name}, args...)...)
	}
	header, body := splitHeader(src)
	last := ""
	for _, l := range header {
		m := headerRE.FindStringSubmatch(l)
		if m == nil {
			if rest := strings.TrimSpace(strings.TrimPrefix(l, "--")); rest != "" && last == "description" {
				q.Description += " " + rest // a continuation line
			}
			continue
		}
		key, val := m[1], strings.TrimSpace(m[2])
		switch key {
		case "title":
			q.Title = val
		case "description":
			q.Description = strings.TrimSpace(q.Description + " " + val)
		case "variant":
			v, err := parseVariantDecl(val)
			if err != nil {
				return fail("%v", err)
			}
			q.variants = append(q.variants, v)
		case "param":
			p, err := parseParamDecl(val)
			if err != nil {
				return fail("%v", err)
			}
			if slices.ContainsFunc(q.Params, func(o SavedParam) bool { return o.Name == p.Name }) {
				return fail("parameter %q declared twice", p.Name)
			}
			q.Params = append(q.Params, p)
		default:
			return fail("unknown header %q (want title, description, param or variant)", key)
		}
		last = key
	}
	switch {
	case q.Description == "":
		return fail("a `-- description:` line is required")
	case q.Title == "" && len(q.variants) == 0:
		return fail("a `-- title:` line is required")
	case q.Title != "" && len(q.variants) > 0:
		return fail("a file with `-- variant:` lines has no `-- title:`: each variant line carries its title")
	}
	if err := checkSavedBody(q, body); err != nil {
		return fail("%v", err)
	}
	return q, nil
}

var variantRE = regexp.MustCompile(`^([a-z0-9]+(?:-[a-z0-9]+)*)\s+(\S+)\s+(\S.*)$`)

func parseVariantDecl(val string) (savedVariant, error) {
	m := variantRE.FindStringSubmatch(val)
	if m == nil {
		return savedVariant{}, fmt.Errorf("bad variant line %q (want: NAME VALUE TITLE, NAME in lower-case-with-dashes)", val)
	}
	return savedVariant{name: m[1], value: m[2], title: strings.TrimSpace(m[3])}, nil
}

func parseParamDecl(val string) (SavedParam, error) {
	m := paramRE.FindStringSubmatch(val)
	if m == nil {
		return SavedParam{}, fmt.Errorf("bad param line %q (want: NAME TYPE [= DEFAULT] [description])", val)
	}
	p := SavedParam{Name: m[1], Type: m[2], Required: m[3] == "", Description: m[4]}
	if !slices.Contains(ParamTypes, p.Type) {
		return p, fmt.Errorf("parameter %s: unknown type %s (want one of %s)", p.Name, p.Type, strings.Join(ParamTypes, ", "))
	}
	if !p.Required {
		p.Default = strings.Trim(m[3], `'"`)
		if _, err := parseParam(p.Type, p.Default); err != nil {
			return p, fmt.Errorf("parameter %s: default: %v", p.Name, err)
		}
	}
	return p, nil
}

// checkSavedBody checks that the statement is one read statement and that
// its @name placeholders are exactly the declared parameters, plus
// @variant when (and only when) the file declares variants.
func checkSavedBody(q SavedQuery, body string) error {
	if _, err := CheckStatement(body); err != nil {
		return err
	}
	used, err := placeholders(body)
	if err != nil {
		return err
	}
	hasVariants := len(q.variants) > 0
	if hasVariants != slices.Contains(used, variantParam) {
		return fmt.Errorf("@%s goes with `-- variant:` lines: a file uses both or neither", variantParam)
	}
	if slices.ContainsFunc(q.Params, func(p SavedParam) bool { return p.Name == variantParam }) {
		return fmt.Errorf("parameter %s is reserved for `-- variant:` lines", variantParam)
	}
	for _, u := range used {
		if u == variantParam {
			continue
		}
		if !slices.ContainsFunc(q.Params, func(p SavedParam) bool { return p.Name == u }) {
			return fmt.Errorf("@%s is used but not declared (add `-- param: %s TYPE`)", u, u)
		}
	}
	for _, p := range q.Params {
		if !slices.Contains(used, p.Name) {
			return fmt.Errorf("parameter %s is declared but not used as @%s", p.Name, p.Name)
		}
	}
	return nil
}
