// Package sqlconsole serves ad-hoc SQL and the saved query library over HTTP
// for officers and auditors: POST /v1/query runs one read statement (or a
// saved query with bound parameters) through the guarded queries.Runner and
// streams the result as json, ndjson, csv, an aligned text table or xlsx;
// GET /v1/queries lists the saved queries. Every run — successful, refused
// or failed — is itself recorded as an access event, so the auditors are
// audited too.
package sqlconsole

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/privaudit/privaudit/audit"
	"github.com/privaudit/privaudit/audit/apierr"
	"github.com/privaudit/privaudit/audit/auth"
	"github.com/privaudit/privaudit/queries"
	"github.com/privaudit/privaudit/reports/render"
	"github.com/privaudit/privaudit/reports/xlsx"
)

// Recorder durably records privaudit's own audit events; wire it to
// (*ingest.Ingestor).Record.
type Recorder func(ctx context.Context, evs ...audit.Event) error

// Options configure a Console.
type Options struct {
	// Runner runs the queries over the reader connection. Required.
	Runner *queries.Runner
	// Schema renders the saved queries. Default queries.DefaultSchema.
	Schema queries.Schema
	// Record records one audit event per run. Required.
	Record Recorder
	// XLSX renders the xlsx format. Default xlsx.New().
	XLSX render.Renderer
	// Version is privaudit's version, shown in the xlsx About sheet.
	Version string
	// MaxBodyBytes bounds a request body (default 1 MiB).
	MaxBodyBytes int64
	// MaxQueries bounds the queries running at once (default
	// DefaultMaxQueries); size the Runner's connection pool to match.
	MaxQueries int
	// MaxQueriesPerToken bounds the queries one token runs at once (default
	// DefaultMaxQueriesPerToken); beyond it the answer is 429 with Retry-After.
	MaxQueriesPerToken int
	// WaitVerdicts, when set, is called before a saved query runs and
	// returns once every record accepted before the call is stored with its
	// verdict; wire it to (*ingest.Ingestor).WaitVerdicts. Saved queries
	// then answer from the verdicts as of the request, as reports do.
	// Ad-hoc SQL never waits: it reads what is stored.
	WaitVerdicts func(ctx context.Context) (time.Time, error)
	// FreshWait bounds that wait (default DefaultFreshWait); past it the
	// saved query is refused as unavailable, to be retried.
	FreshWait time.Duration
	Logger    *slog.Logger
	Now       func() time.Time
}

// DefaultFreshWait is the default Options.FreshWait.
const DefaultFreshWait = time.Minute

// Console is the HTTP face of the ad-hoc SQL runner.
type Console struct {
	o     Options
	slots *slots
}

// New returns a console; Runner and Record are required.
func New(o Options) (*Console, error) {
	if o.Runner == nil || o.Record == nil {
		return nil, errors.New("sqlconsole: a Runner and a Recorder are required")
	}
	if o.Schema.DB == "" {
		o.Schema = queries.DefaultSchema
	}
	if err := o.Schema.Validate(); err != nil {
		return nil, fmt.Errorf("sqlconsole: %w", err)
	}
	if _, err := queries.Saved(); err != nil {
		return nil, fmt.Errorf("sqlconsole: %w", err)
	}
	if o.XLSX == nil {
		o.XLSX = xlsx.New()
	}
	if o.MaxBodyBytes <= 0 {
		o.MaxBodyBytes = 1 << 20
	}
	if o.MaxQueries <= 0 {
		o.MaxQueries = DefaultMaxQueries
	}
	if o.MaxQueriesPerToken <= 0 {
		o.MaxQueriesPerToken = DefaultMaxQueriesPerToken
	}
	if o.FreshWait <= 0 {
		o.FreshWait = DefaultFreshWait
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Console{o: o, slots: newSlots(o.MaxQueries, o.MaxQueriesPerToken)}, nil
}

// Routes registers POST /v1/query and GET /v1/queries on mux, each wrapped
// by wrap (the token check: officer or admin). The handlers check the role
// again themselves.
func (c *Console) Routes(mux *http.ServeMux, wrap func(http.Handler) http.Handler) {
	mux.Handle("POST /v1/query", wrap(http.HandlerFunc(c.serveQuery)))
	mux.Handle("GET /v1/queries", wrap(http.HandlerFunc(c.serveList)))
}

// Request is the body of POST /v1/query: either SQL, or Saved with Params.
type Request struct {
	SQL    string            `json:"sql,omitempty"`
	Saved  string            `json:"saved,omitempty"`
	Params map[string]string `json:"params,omitempty"`
	// Format is json (default), ndjson, csv, table or xlsx.
	Format string `json:"format,omitempty"`
}

// Formats are the output formats of POST /v1/query.
var Formats = []string{"json", "ndjson", "csv", "table", "xlsx"}

// ListResponse is the body of GET /v1/queries.
type ListResponse struct {
	Queries []queries.SavedQuery `json:"queries"`
	MaxRows int                  `json:"max_rows"`
	Formats []string             `json:"formats"`
}

func (c *Console) serveList(w http.ResponseWriter, r *http.Request) {
	if _, err := c.identity(r); err != nil {
		apierr.Write(w, r, c.o.Logger, err)
		return
	}
	all, err := queries.Saved()
	if err != nil {
		apierr.Write(w, r, c.o.Logger, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(ListResponse{Queries: all, MaxRows: c.o.Runner.MaxRows(), Formats: Formats})
}

func (c *Console) identity(r *http.Request) (auth.Identity, error) {
	id, ok := auth.FromContext(r.Context())
	if !ok {
		return id, apierr.Errorf(apierr.Unauthorized, "missing bearer token (Authorization: Bearer …)")
	}
	return id, checkRole(id)
}

// checkRole refuses an identity that may not run queries.
func checkRole(id auth.Identity) error {
	if !id.Allows(auth.RoleOfficer) {
		return apierr.Errorf(apierr.Forbidden, "role %q may not run queries (needs officer or admin)", id.Role)
	}
	return nil
}

// decodeRequest reads and checks the request body.
func (c *Console) decodeRequest(w http.ResponseWriter, r *http.Request) (Request, error) {
	var req Request
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, c.o.MaxBodyBytes))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return req, apierr.Errorf(apierr.TooLarge, "request body over %d bytes", c.o.MaxBodyBytes)
		}
		return req, apierr.Errorf(apierr.Invalid, `bad request body (%v); send {"sql": "SELECT …", "format": "json"} or {"saved": "NAME", "params": {…}}`, err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return req, apierr.Errorf(apierr.Invalid, "bad request body: one JSON object expected")
	}
	return req, nil
}

// checkRequest checks that req holds either SQL or a saved query, and
// parameters only with a saved query.
func checkRequest(req Request) error {
	switch {
	case (req.SQL == "") == (req.Saved == ""):
		return apierr.Errorf(apierr.Invalid, `give either "sql" (one read statement) or "saved" (a saved query name; see GET /v1/queries)`)
	case req.SQL != "" && len(req.Params) > 0:
		return apierr.Errorf(apierr.Invalid, `"params" go with a saved query; ad-hoc SQL takes no parameters`)
	}
	return nil
}

// apiError maps a query error to the API's error codes: refusals, limits
// and mistakes are 400, an unknown saved query 404, an unreachable
// ClickHouse 503.
func apiError(err error, queryID string) error {
	var qe *queries.QueryError
	if !errors.As(err, &qe) {
		return err
	}
	details := map[string]any{"kind": qe.Kind.String()}
	if qe.Code != 0 {
		details["clickhouse_code"] = qe.Code
	}
	if queryID != "" {
		details["query_id"] = queryID
	}
	e := &apierr.Error{Message: qe.Message, Details: details, Err: err}
	switch qe.Kind {
	case queries.ErrRefused, queries.ErrLimit, queries.ErrInvalid, queries.ErrCanceled:
		e.Code = apierr.Invalid
	case queries.ErrNotFound:
		e.Code = apierr.NotFound
	case queries.ErrUnavailable:
		e.Code, e.RetryAfter = apierr.Unavailable, 5*time.Second
	default:
		e.Code = apierr.Internal
	}
	return e
}

// MaxRows is the row cap of one query.
func (c *Console) MaxRows() int { return c.o.Runner.MaxRows() }
