package reports

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/privaudit/privaudit/audit/apierr"
	"github.com/privaudit/privaudit/audit/auth"
	"github.com/privaudit/privaudit/reports/render"
)

// Trailers sent after a report download: the detail rows and their SHA-256
// (canonical csv form), known only once the file is complete, and the
// consent ledger position its verdicts reflect (LedgerPosition.Value), and
// the proof log checkpoint its data was read under (Checkpoint.Value).
const (
	TrailerRows       = "X-Privaudit-Rows"
	TrailerSHA256     = "X-Privaudit-Sha256"
	TrailerLedger     = "X-Privaudit-Ledger-Position"
	TrailerCheckpoint = "X-Privaudit-Checkpoint"
)

// DefaultFormat is the format of a download that names none.
const DefaultFormat = "xlsx"

// Routes registers the report API on mux, for the officer and admin roles:
//
//	GET /v1/reports         the catalog: reports, their parameters and columns, the formats
//	GET /v1/reports/{name}  ?from=&to=&format=&tz=&param.KEY=VALUE&filter.NAME=VALUE — the report as a download
func Routes(mux *http.ServeMux, r *Runner, tokens *auth.Store, log *slog.Logger) {
	if log == nil {
		log = slog.Default()
	}
	h := &handler{r: r, log: log}
	mux.Handle("GET /v1/reports", tokens.Require(log, http.HandlerFunc(h.list), auth.RoleOfficer))
	mux.Handle("GET /v1/reports/{name}", tokens.Require(log, http.HandlerFunc(h.run), auth.RoleOfficer))
}

type handler struct {
	r   *Runner
	log *slog.Logger
}

// CatalogEntry is one report as GET /v1/reports lists it.
type CatalogEntry struct {
	Name        string      `json:"name"`
	Title       string      `json:"title"`
	Description string      `json:"description"`
	Params      []ParamSpec `json:"params"`
	// Filters are the filters the report takes (FilterSpecs).
	Filters []FilterSpec  `json:"filters"`
	Columns []CatalogCell `json:"columns"`
}

// CatalogCell is one detail column of a catalog entry: its identifier
// (the csv and json column name), kind, and the plain-word header the
// xlsx shows.
type CatalogCell struct {
	Name  string `json:"name"`
	Kind  string `json:"kind"`
	Label string `json:"label"`
}

// CatalogResponse is the body of GET /v1/reports.
type CatalogResponse struct {
	Reports []CatalogEntry `json:"reports"`
	Formats []string       `json:"formats"`
}

var kindNames = map[render.Kind]string{render.String: "string", render.Int: "int", render.Float: "float",
	render.Time: "time", render.List: "list", render.Bool: "bool"}

func (h *handler) list(w http.ResponseWriter, req *http.Request) {
	resp := CatalogResponse{Formats: h.r.FormatNames(), Reports: []CatalogEntry{}}
	for _, d := range h.r.Catalog().List() {
		e := CatalogEntry{Name: d.Name, Title: d.Title, Description: d.Description, Params: d.Params}
		if e.Params == nil {
			e.Params = []ParamSpec{}
		}
		e.Filters = []FilterSpec{}
		for _, name := range d.Filters {
			f, _ := lookupFilter(name)
			e.Filters = append(e.Filters, f)
		}
		for _, c := range d.Columns {
			e.Columns = append(e.Columns, CatalogCell{Name: c.Name, Kind: kindNames[c.Kind], Label: c.Header()})
		}
		resp.Reports = append(resp.Reports, e)
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(resp)
}

// run serves one report as a download. Everything that can be checked is
// checked before the first byte; a failure after it aborts the response, so
// the client never mistakes a truncated file for a complete one.
func (h *handler) run(w http.ResponseWriter, req *http.Request) {
	if req.Method != http.MethodGet {
		// A HEAD would run and record the whole report for nothing.
		w.Header().Set("Allow", http.MethodGet)
		apierr.Write(w, req, h.log, apierr.Errorf(apierr.Invalid, "use GET to download a report"))
		return
	}
	rr, err := h.request(req)
	if err != nil {
		apierr.Write(w, req, h.log, err)
		return
	}
	if err := h.r.Serve(req.Context(), w, rr, h.log); err != nil {
		apierr.Write(w, req, h.log, err)
	}
}

// Serve runs rr as a download to w: the content type and the
// Content-Disposition naming the plan's Filename at the first byte, the
// detail rows, their SHA-256 and the ledger position as trailers. An error
// before the first byte (an invalid request, verdicts not fresh in time) is
// returned with nothing written, for the caller to answer; a failure after
// it aborts the response, so the client never mistakes a truncated file for
// a complete one. rr.Out is set here.
func (r *Runner) Serve(ctx context.Context, w http.ResponseWriter, rr RunRequest, log *slog.Logger) error {
	plan, err := r.Plan(rr)
	if err != nil {
		return err
	}
	out := &download{w: w, plan: plan}
	rr.Out = out
	res, err := r.Run(ctx, rr)
	if err != nil {
		if !out.started {
			return err
		}
		level := slog.LevelError
		if errors.Is(err, context.Canceled) {
			level = slog.LevelInfo // the client went away
		}
		log.Log(ctx, level, "report download failed after it started; aborting the response",
			"report", plan.Definition.Name, "err", err)
		panic(http.ErrAbortHandler)
	}
	out.start()
	w.Header().Set(TrailerRows, strconv.FormatInt(res.Rows, 10))
	w.Header().Set(TrailerSHA256, res.SHA256)
	w.Header().Set(TrailerLedger, res.Ledger.Value())
	w.Header().Set(TrailerCheckpoint, res.Checkpoint.Value())
	return nil
}

// request reads a run request from the URL: from, to, format,
// param.KEY=VALUE and filter.NAME=VALUE; any other query key is refused, so
// a typo is not silently ignored.
func (h *handler) request(req *http.Request) (RunRequest, error) {
	q := req.URL.Query()
	rr := RunRequest{Report: req.PathValue("name"), Format: DefaultFormat, Params: map[string]string{}, Filters: map[string]string{},
		Channel: defaultChannel, RequestID: validRequestID(req.Header.Get("X-Request-Id"))}
	if id, ok := auth.FromContext(req.Context()); ok {
		rr.Actor = id.Name
	}
	for k, vs := range q {
		if len(vs) != 1 {
			return rr, apierr.Errorf(apierr.Invalid, "query parameter %s is given %d times; give it once", k, len(vs))
		}
		if err := h.setArg(&rr, k, vs[0]); err != nil {
			return rr, err
		}
	}
	return rr, nil
}

func (h *handler) setArg(rr *RunRequest, k, v string) error {
	var err error
	switch {
	case k == "from":
		rr.From, err = ParseTime(v)
	case k == "to":
		rr.To, err = ParseTime(v)
	case k == "format":
		rr.Format = v
	case k == "tz":
		rr.TimeZone = v
	case strings.HasPrefix(k, "param."):
		rr.Params[strings.TrimPrefix(k, "param.")] = v
	case strings.HasPrefix(k, "filter."):
		rr.Filters[strings.TrimPrefix(k, "filter.")] = v
	default:
		return apierr.Errorf(apierr.Invalid, "unknown query parameter %q: use from, to, format, tz, param.NAME=VALUE and filter.NAME=VALUE", k)
	}
	if err != nil {
		return apierr.Errorf(apierr.Invalid, "%s: %v", k, err)
	}
	return nil
}

func validRequestID(s string) string {
	if len(s) == 0 || len(s) > 128 {
		return ""
	}
	for _, c := range s {
		if c < 0x21 || c > 0x7e {
			return ""
		}
	}
	return s
}

// download writes the response headers at the first byte of the report.
type download struct {
	w       http.ResponseWriter
	plan    *Plan
	started bool
}

func (d *download) start() {
	if d.started {
		return
	}
	d.started = true
	hd := d.w.Header()
	hd.Set("Content-Type", d.plan.ContentType)
	hd.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": d.plan.Filename}))
	hd.Set("Cache-Control", "no-store")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Trailer", TrailerRows+", "+TrailerSHA256+", "+TrailerLedger+", "+TrailerCheckpoint)
	d.w.WriteHeader(http.StatusOK)
}

func (d *download) Write(p []byte) (int, error) {
	d.start()
	n, err := d.w.Write(p)
	if err != nil {
		return n, fmt.Errorf("send report: %w", err)
	}
	return n, nil
}

// ErrorResponse is the JSON body of an API error (see apierr.Write).
type ErrorResponse struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// DecodeError turns an API error body into an error carrying its message.
func DecodeError(status int, body []byte) error {
	var er ErrorResponse
	if json.Unmarshal(body, &er) == nil && er.Error.Message != "" {
		return errors.New(er.Error.Message)
	}
	msg := strings.TrimSpace(string(body))
	if len(msg) > 300 {
		msg = msg[:300] + "…"
	}
	return fmt.Errorf("server answered %d %s: %s", status, http.StatusText(status), msg)
}

// QueryValues builds the query string of a report download; filters are
// added with SetFilters.
func QueryValues(from, to, format string, params map[string]string) url.Values {
	q := url.Values{}
	q.Set("from", from)
	q.Set("to", to)
	if format != "" {
		q.Set("format", format)
	}
	for k, v := range params {
		q.Set("param."+k, v)
	}
	return q
}

// SetFilters adds report filters to the query string of a report download
// (filter.NAME=VALUE).
func SetFilters(q url.Values, filters map[string]string) {
	for k, v := range filters {
		q.Set("filter."+k, v)
	}
}
