package console

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/privaudit/privaudit/audit"
	"github.com/privaudit/privaudit/audit/apierr"
	"github.com/privaudit/privaudit/reports"
)

// The Reports page: the catalog, a form per report whose download runs the
// report through reports.Runner (which validates it, waits for fresh
// verdicts and records the run under the officer's name), and the schedules
// (schedules.go).
//
// A download is a GET of /console/reports/{name}/download with the form's
// fields in the address: it only reads, so it needs no CSRF token, and the
// address can be bookmarked or linked from another console page. It is
// recorded, so it must not be triggerable from another site: the session
// cookie is SameSite=Strict (a request started by another site carries no
// session and is led to the sign-in), and a request the browser marks as
// cross-site or same-site (Sec-Fetch-Site) is refused as well.

type reportField struct {
	Name, Label, Help, Value string
	Invalid                  bool // the error shown is about this field
	Int                      bool
	Required                 bool
	Min, Max                 int64
	Choices                  []string // a select of these values, "" first
}

type reportFormData struct {
	Name, Title, Description string
	From, To, Format, TZ     string
	Audience                 string // "" when the report has no customer-ready form
	Params, Filters          []reportField
	Formats                  []string
	Error                    string
	// ErrorField is the label of the field the error is about, if known.
	ErrorField string
}

// reportsPage lists the catalog; a customer-ready form is reached through
// its officer report's "Written for" choice.
func (c *Console) reportsPage(w http.ResponseWriter, r *http.Request) {
	if c.o.Reports == nil {
		c.noReports(w, r)
		return
	}
	defs := slices.DeleteFunc(c.o.Reports.Catalog().List(), func(d reports.Definition) bool { return d.Audience == reports.AudienceCustomer })
	c.render(w, r, http.StatusOK, "reports", page{Title: "Reports", Nav: "reports",
		Data: struct{ Reports []reports.Definition }{defs}})
}

// noReports answers when serve has no report runner.
func (c *Console) noReports(w http.ResponseWriter, r *http.Request) {
	c.fail(w, r, http.StatusNotFound, "This privaudit serves no reports.", "Ask an admin to check privaudit's configuration and log.")
}

// lookupReport returns the report the address names, or answers why there
// is none.
func (c *Console) lookupReport(w http.ResponseWriter, r *http.Request) (reports.Definition, bool) {
	if c.o.Reports == nil {
		c.noReports(w, r)
		return reports.Definition{}, false
	}
	d, ok := c.o.Reports.Catalog().Lookup(r.PathValue("name"))
	if !ok {
		c.fail(w, r, http.StatusNotFound, "There is no report named "+r.PathValue("name")+".", "Choose a report from the Reports page.")
	}
	return d, ok
}

// crossSite tells whether the browser marks r as started by another site
// (Sec-Fetch-Site): a recorded download must not be.
func crossSite(r *http.Request) bool {
	site := r.Header.Get("Sec-Fetch-Site")
	return site == "cross-site" || site == "same-site"
}

// reportForm shows a report's form, filled from the address (the same
// fields as the download's).
func (c *Console) reportForm(w http.ResponseWriter, r *http.Request) {
	d, ok := c.lookupReport(w, r)
	if !ok {
		return
	}
	c.showReportForm(w, r, http.StatusOK, d, "")
}

func (c *Console) showReportForm(w http.ResponseWriter, r *http.Request, status int, d reports.Definition, problem string) {
	q := r.URL.Query()
	now := c.o.Now().UTC().Truncate(24 * time.Hour)
	f := reportFormData{Name: d.Name, Title: d.Title, Description: d.Description, Formats: c.o.Reports.FormatNames(),
		From:   valueOr(q.Get("from"), now.AddDate(0, 0, -30).Format(time.DateOnly)),
		To:     valueOr(q.Get("to"), now.AddDate(0, 0, 1).Format(time.DateOnly)),
		Format: valueOr(q.Get("format"), reports.DefaultFormat), TZ: q.Get("tz"), Error: problem}
	if _, err := reports.ForAudience(d.Name, string(reports.AudienceCustomer)); err == nil && d.Audience != reports.AudienceCustomer {
		f.Audience = valueOr(q.Get("audience"), "officer")
	}
	for _, p := range d.Params {
		help := p.Description
		if !p.Required && p.Default != "" {
			help += " (if left empty: " + p.Default + ")"
		}
		f.Params = append(f.Params, reportField{Name: "param." + p.Name, Label: words(p.Name), Help: help,
			Value: q.Get("param." + p.Name), Int: p.Kind == reports.ParamInt, Required: p.Required, Min: p.Min, Max: p.Max})
	}
	for _, name := range d.Filters {
		i := slices.IndexFunc(reports.FilterSpecs, func(s reports.FilterSpec) bool { return s.Name == name })
		if i < 0 {
			continue
		}
		s := reports.FilterSpecs[i]
		f.Filters = append(f.Filters, reportField{Name: "filter." + s.Name, Label: s.Label, Help: s.Description,
			Value: q.Get("filter." + s.Name), Choices: s.Allowed})
	}
	if problem != "" {
		markInvalid(&f, problem)
	}
	c.render(w, r, status, "report", page{Title: d.Title, Nav: "reports", Data: f})
}

// markInvalid finds the parameter or filter the Runner's message names
// ("parameter NAME", "filter NAME") and marks its field, so the page can
// say which field to correct. The command-line hint of a message (how to
// pass a parameter to `privaudit report run`) is left out: here it is a
// field of the form.
func markInvalid(f *reportFormData, problem string) {
	if i := strings.Index(problem, "; pass it as "); i > 0 {
		f.Error = problem[:i]
	}
	for _, fields := range [][]reportField{f.Params, f.Filters} {
		for i := range fields {
			kind, name, _ := strings.Cut(fields[i].Name, ".")
			if kind == "param" {
				kind = "parameter"
			}
			if strings.Contains(problem, kind+" "+name+" ") || strings.Contains(problem, kind+" "+name+":") {
				fields[i].Invalid, f.ErrorField = true, fields[i].Label
				return
			}
		}
	}
}

// reportDownload runs the report of the form as a download; a request the
// Runner refuses shows the form again with the reason.
func (c *Console) reportDownload(w http.ResponseWriter, r *http.Request) {
	d, ok := c.lookupReport(w, r)
	if !ok {
		return
	}
	if r.Method != http.MethodGet {
		c.fail(w, r, http.StatusMethodNotAllowed, "A report is downloaded with the form's Download button.", "Open the report's form and press Download.")
		return
	}
	if crossSite(r) {
		c.fail(w, r, http.StatusForbidden, "This download was started from another site, so it was refused.",
			"Open the report's form in the console and press Download there.")
		return
	}
	rr, err := c.reportRequest(r, d)
	if err == nil {
		err = c.serveReport(w, r, rr)
	}
	if err == nil {
		return
	}
	var ae *apierr.Error
	switch {
	case errors.As(err, &ae) && (ae.Code == apierr.Invalid || ae.Code == apierr.NotFound):
		c.showReportForm(w, r, http.StatusBadRequest, d, strings.TrimSuffix(ae.Message, "."))
	case errors.Is(err, context.Canceled):
	default:
		c.o.Logger.Warn("console: report download failed", "report", d.Name, "err", err)
		c.showReportForm(w, r, http.StatusServiceUnavailable, d,
			"The report could not be run just now (privaudit's ClickHouse or its intake did not answer in time). Wait a minute and press Download again; if it persists, ask an admin to check privaudit's log.")
	}
}

// serveReport runs rr as a download, its progress kept under the form's
// job id when the script gave one.
func (c *Console) serveReport(w http.ResponseWriter, r *http.Request, rr reports.RunRequest) error {
	id := r.URL.Query().Get("job")
	if id == "" {
		return c.o.Reports.Serve(r.Context(), w, rr, c.o.Logger)
	}
	progress, end, ok := c.jobs.start(sessionFrom(r.Context()).ID, id)
	if !ok {
		return c.o.Reports.Serve(r.Context(), w, rr, c.o.Logger)
	}
	done := false
	defer func() { end(done) }() // also when Serve aborts the response
	rr.Progress = progress
	err := c.o.Reports.Serve(r.Context(), w, rr, c.o.Logger)
	done = err == nil
	return err
}

// reportRequest reads the form's fields from the address: from, to, format,
// tz, audience, param.NAME and filter.NAME, empty ones left out, and job
// (serveReport's); any other
// field is refused, so a mistyped address is not silently ignored.
func (c *Console) reportRequest(r *http.Request, d reports.Definition) (reports.RunRequest, error) {
	q := r.URL.Query()
	se := sessionFrom(r.Context())
	rr := reports.RunRequest{Report: d.Name, Format: reports.DefaultFormat, Params: map[string]string{}, Filters: map[string]string{},
		Actor: se.Identity.Name, Channel: audit.TrailChannelConsole}
	var err error
	for k, vs := range q {
		v := strings.TrimSpace(vs[len(vs)-1])
		if len(vs) != 1 {
			return rr, apierr.Errorf(apierr.Invalid, "the field %s is given %d times; give it once", k, len(vs))
		}
		switch {
		case k == "from":
			rr.From, err = reports.ParseTime(v)
		case k == "to":
			rr.To, err = reports.ParseTime(v)
		case k == "format" && v != "":
			rr.Format = v
		case k == "tz":
			rr.TimeZone = v
		case k == "audience":
			rr.Report, err = reports.ForAudience(d.Name, v)
		case strings.HasPrefix(k, "param.") && v != "":
			rr.Params[strings.TrimPrefix(k, "param.")] = v
		case strings.HasPrefix(k, "filter.") && v != "":
			rr.Filters[strings.TrimPrefix(k, "filter.")] = v
		case strings.HasPrefix(k, "param."), strings.HasPrefix(k, "filter."), k == "format", k == "job":
		default:
			return rr, apierr.Errorf(apierr.Invalid, "unknown field %q in the address; open the report's form from the Reports page", k)
		}
		if err != nil {
			return rr, apierr.Errorf(apierr.Invalid, "%s: %v", words(k), err)
		}
	}
	return rr, nil
}

// words turns an identifier into words: subject_id → Subject id.
func words(id string) string {
	s := strings.ReplaceAll(id, "_", " ")
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

func valueOr(v, def string) string {
	if v == "" {
		return def
	}
	return v
}
