package console

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/privaudit/privaudit/queries"
	"github.com/privaudit/privaudit/reports/sqlconsole"
)

// The Query page's bounds.
const (
	// PageRows is how many result rows one page of the Query page shows.
	PageRows = 100
	// recentRuns is how many of the officer's own query runs it lists.
	recentRuns = 20
	// paramPrefix starts the form field of a saved query's parameter.
	paramPrefix = "p."
)

// queryData is what the Query page shows.
type queryData struct {
	Saved     []queries.SavedQuery
	Chosen    *savedForm // the saved query whose fields are shown
	SQL       string     // the editor's text
	MaxRows   int
	PageRows  int
	Result    *resultView
	Problem   *problem
	Recent    []recentView
	RecentErr string
	Notice    string
}

// savedForm is a saved query with its parameters as typed form fields.
type savedForm struct {
	Query  queries.SavedQuery
	Fields []paramField
}

// paramField is one saved-query parameter as an <input>.
type paramField struct {
	ID, Name, Label, ParamType, Input, Step, Min, Value, Description, Hint string
	Required                                                               bool
}

// recentView is one of the officer's recent runs as the page lists it.
type recentView struct {
	sqlconsole.RecentRun
	When, What, Open string
}

// runRequest is a query run as the page's forms carry it.
type runRequest struct {
	SQL    string
	Saved  string
	Params []kv // in the saved query's declared order
	Page   int
}

type kv struct{ Name, Value string }

// queryPage shows the editor, the saved queries and the officer's recent
// runs; ?saved=NAME shows that saved query's fields, ?open=EVENT_ID puts
// one of the officer's recent runs back in the editor.
func (c *Console) queryPage(w http.ResponseWriter, r *http.Request) {
	if c.queryOff(w, r) {
		return
	}
	d := c.newQueryData(r.Context())
	q := r.URL.Query()
	if name := q.Get("saved"); name != "" {
		c.chooseSaved(&d, name, nil)
	}
	if id := q.Get("open"); id != "" {
		c.reopen(&d, id)
	}
	c.render(w, r, http.StatusOK, "query", page{Title: "Query", Nav: "query", Data: d})
}

// newQueryData fills what every rendering of the page shows: the saved
// queries, the limits and the officer's recent runs.
func (c *Console) newQueryData(ctx context.Context) queryData {
	se := sessionFrom(ctx)
	saved, _ := queries.Saved() // checked by sqlconsole.New
	d := queryData{Saved: saved, MaxRows: c.o.Query.MaxRows(), PageRows: PageRows}
	rctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	runs, err := c.o.Query.Recent(rctx, se.Identity.Name, recentRuns)
	if err != nil {
		c.o.Logger.Warn("console: query page: read recent queries", "err", err)
		d.RecentErr = "Your recent queries cannot be read just now; reload the page in a minute."
	}
	for _, ru := range runs {
		v := recentView{RecentRun: ru, When: ru.At.Format("2006-01-02 15:04:05 UTC"), Open: Prefix + "query?open=" + url.QueryEscape(ru.EventID)}
		v.What = ru.Saved
		if v.What == "" {
			v.What = oneLine(ru.SQL, 120)
		}
		d.Recent = append(d.Recent, v)
	}
	return d
}

// chooseSaved shows the saved query name's fields, filled from given (a
// submitted form) or else from the defaults.
func (c *Console) chooseSaved(d *queryData, name string, given map[string]string) {
	sq, err := queries.LookupSaved(name)
	if err != nil {
		d.Problem = explain(err, "")
		return
	}
	f := &savedForm{Query: sq}
	for _, p := range sq.Params {
		pf := paramField{ID: "param-" + p.Name, Name: paramPrefix + p.Name, Label: p.Name, ParamType: p.Type, Value: p.Default,
			Description: p.Description, Required: p.Required}
		if v, ok := given[p.Name]; ok {
			pf.Value = v
		}
		switch p.Type {
		case "Date":
			pf.Input = "date"
		case "UInt64":
			pf.Input, pf.Step, pf.Min = "number", "1", "0"
		case "Int64":
			pf.Input, pf.Step = "number", "1"
		case "Float64":
			pf.Input, pf.Step = "number", "any"
		case "DateTime":
			pf.Input, pf.Hint = "text", "UTC, e.g. 2026-05-01T13:00:00Z"
		default:
			pf.Input = "text"
		}
		f.Fields = append(f.Fields, pf)
	}
	d.Chosen = f
}

// reopen puts the officer's recent run id back in the editor, or its
// saved query in the form; only the officer's own runs can be reopened.
func (c *Console) reopen(d *queryData, id string) {
	for _, ru := range d.Recent {
		if ru.EventID != id {
			continue
		}
		if ru.Saved != "" {
			c.chooseSaved(d, ru.Saved, nil)
			d.Notice = "The saved query " + ru.Saved + " is open with its default values: the audit trail keeps the names of the parameters you gave, never their values. Fill them in and run it."
			return
		}
		d.SQL = ru.SQL
		d.Notice = "Your query of " + ru.When + " is back in the editor."
		return
	}
	d.Notice = "That query is not among your last " + strconv.Itoa(recentRuns) + " runs, so it cannot be reopened; pick one from the list below."
}

// parseRun reads a run request from the posted form. An empty field is
// left out (its default applies, or a required one is reported missing),
// except an optional String's, which is the empty string.
func parseRun(r *http.Request) runRequest {
	rr := runRequest{SQL: r.PostFormValue("sql"), Saved: r.PostFormValue("saved")}
	rr.Page, _ = strconv.Atoi(r.PostFormValue("page"))
	if rr.Saved != "" {
		rr.SQL = ""
		if sq, err := queries.LookupSaved(rr.Saved); err == nil {
			for _, p := range sq.Params {
				if vs, ok := r.PostForm[paramPrefix+p.Name]; ok && (vs[0] != "" || p.Type == "String" && !p.Required) {
					rr.Params = append(rr.Params, kv{p.Name, vs[0]})
				}
			}
		}
	}
	return rr
}

// request is rr as sqlconsole runs it, recorded in format.
func (rr runRequest) request(format string) sqlconsole.Request {
	req := sqlconsole.Request{SQL: rr.SQL, Saved: rr.Saved, Format: format}
	if rr.Saved != "" {
		req.Params = map[string]string{}
		for _, p := range rr.Params {
			req.Params[p.Name] = p.Value
		}
	}
	return req
}

// runQuery runs the posted query through sqlconsole — the guard, the
// read-only reader, the limits and the audit record under the officer's
// name — and shows one page of its result; export=csv or xlsx downloads
// the whole result instead, through sqlconsole's renderers.
func (c *Console) runQuery(w http.ResponseWriter, r *http.Request) {
	if c.queryOff(w, r) {
		return
	}
	se := sessionFrom(r.Context())
	rr := parseRun(r)
	if export := r.PostFormValue("export"); export == "csv" || export == "xlsx" {
		err := c.o.Query.Serve(w, r, se.Identity, rr.request(export))
		if err == nil {
			return
		}
		c.showRun(w, r, rr, nil, explain(err, rr.SQL))
		return
	}
	rr.Page = min(max(rr.Page, 1), max((c.o.Query.MaxRows()+PageRows-1)/PageRows, 1))
	if strings.TrimSpace(rr.SQL) == "" && rr.Saved == "" {
		c.showRun(w, r, rr, nil, &problem{Status: http.StatusBadRequest, Title: "There is no query to run.",
			Next: "Write one SELECT statement in the editor, or choose a saved query on the right, then run it."})
		return
	}
	var res *resultView
	err := c.o.Query.Run(r.Context(), se.Identity, rr.request("html"), func(qr *queries.Result) error {
		res = readPage(qr, rr.Page)
		return qr.Err()
	})
	if err != nil {
		c.showRun(w, r, rr, nil, explain(err, rr.SQL))
		return
	}
	c.showRun(w, r, rr, res, nil)
}

// showRun renders the page after a run: the editor or the saved query's
// form as submitted, and the result or what went wrong.
func (c *Console) showRun(w http.ResponseWriter, r *http.Request, rr runRequest, res *resultView, prob *problem) {
	d := c.newQueryData(r.Context())
	d.SQL = rr.SQL
	if rr.Saved != "" {
		given := map[string]string{}
		for _, p := range rr.Params {
			given[p.Name] = p.Value
		}
		c.chooseSaved(&d, rr.Saved, given)
	}
	status := http.StatusOK
	if prob != nil {
		d.Problem, status = prob, prob.Status
	} else {
		res.Run = rr
		d.Result = res
	}
	c.render(w, r, status, "query", page{Title: "Query", Nav: "query", Data: d})
}

// queryOff answers the request when ad-hoc SQL is off on this server.
func (c *Console) queryOff(w http.ResponseWriter, r *http.Request) bool {
	if c.o.Query != nil {
		return false
	}
	c.fail(w, r, http.StatusNotFound, "Queries are off on this server: privaudit has no read-only ClickHouse user for them.",
		"Ask an admin to set clickhouse.reader_user (see the README, ad-hoc SQL); the reports need no reader.")
	return true
}

// oneLine folds s onto one line and cuts it to n runes.
func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}
