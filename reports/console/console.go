// Package console is the officers' web console that `privaudit serve` serves
// under /console/: server-rendered pages (html/template, one CSS file, no
// inline script; static/reports.js follows report downloads) behind a sign-in with an officer or admin token that becomes a
// server-side session.
//
// Every response carries a strict Content-Security-Policy and the other
// security headers; every state-changing request must carry its session's
// CSRF token and pass net/http's cross-origin check; sign-in and sign-out
// are recorded as access events, like the API's report runs and queries.
package console

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"time"

	"github.com/privaudit/privaudit/audit"
	"github.com/privaudit/privaudit/audit/auth"
	"github.com/privaudit/privaudit/audit/ingest"
	"github.com/privaudit/privaudit/reports"
	"github.com/privaudit/privaudit/reports/schedule"
	"github.com/privaudit/privaudit/reports/sqlconsole"
)

// Default session expiries.
const (
	DefaultIdleTimeout = 30 * time.Minute
	DefaultMaxAge      = 12 * time.Hour
)

// Prefix is where the console lives on the server.
const Prefix = "/console/"

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Tokens checks API tokens; *auth.Store is one.
type Tokens interface {
	// Authenticate resolves a pasted token to its identity.
	Authenticate(ctx context.Context, bearer string) (auth.Identity, error)
	// Active answers whether the token of that id still exists unrevoked.
	Active(ctx context.Context, tokenID string) (auth.Identity, error)
}

// Options configure the console.
type Options struct {
	Tokens Tokens // required
	// Record durably records the console's access events; required.
	Record func(ctx context.Context, evs ...audit.Event) error
	// IdleTimeout ends a session unused for that long; MaxAge ends it that
	// long after sign-in whatever its use. Defaults above.
	IdleTimeout time.Duration
	MaxAge      time.Duration
	// Ready lists why the intake cannot accept records now (the /readyz
	// reasons); nil shows no intake health.
	Ready func(ctx context.Context) []string
	// Runs returns the latest scheduled runs, newest first; nil shows none.
	Runs func(ctx context.Context, f schedule.RunFilter) ([]schedule.Run, error)
	// Query runs the Query page's queries through the guarded path of
	// POST /v1/query; nil (no reader configured) makes the page say so.
	Query *sqlconsole.Console
	// Overview page: Summaries computes the reports' summaries the
	// overview draws (*reports.Runner); nil shows no figures. Intake
	// returns the intake's health (*ingest.Ingestor.Health); nil shows
	// none.
	Summaries Summarizer
	Intake    func() ingest.Health
	// Reports page: Reports runs the catalog's reports (nil: the page says
	// there are none); Schedules lists the schedules and their runs, starts
	// runs and serves their files (nil: no schedules).
	Reports   *reports.Runner
	Schedules *schedule.Scheduler
	// Now is the clock; time.Now by default.
	Now     func() time.Time
	Version string
	Logger  *slog.Logger
}

// Console serves the console's pages.
type Console struct {
	o        Options
	sessions *sessions
	pages    map[string]*template.Template
	static   http.Handler
	origin   *http.CrossOriginProtection
	jobs     *jobs // report downloads' progress (Reports page)
	throttle *throttle
}

// New returns a console.
func New(o Options) (*Console, error) {
	if o.Tokens == nil || o.Record == nil {
		return nil, errors.New("console: a token store and a Recorder are required (sign-ins are recorded)")
	}
	if o.IdleTimeout == 0 {
		o.IdleTimeout = DefaultIdleTimeout
	}
	if o.MaxAge == 0 {
		o.MaxAge = DefaultMaxAge
	}
	if o.IdleTimeout < 0 || o.MaxAge < o.IdleTimeout {
		return nil, fmt.Errorf("console: idle timeout %s and max age %s: want 0 < idle timeout ≤ max age", o.IdleTimeout, o.MaxAge)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	pages, err := parsePages()
	if err != nil {
		return nil, err
	}
	sub, err := fs.Sub(staticFS, "static")
	if err != nil {
		return nil, err
	}
	c := &Console{o: o, sessions: newSessions(o.IdleTimeout, o.MaxAge, o.Now), pages: pages,
		static: http.StripPrefix(Prefix+"static/", http.FileServerFS(sub)), origin: http.NewCrossOriginProtection(),
		jobs: newJobs(o.Now), throttle: newThrottle(o.Now)}
	c.origin.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.fail(w, r, http.StatusForbidden, "This form was sent from another site, so it was refused.",
			"Open the console at its own address and send the form from there.")
	}))
	return c, nil
}

// Routes mounts the console on mux; / leads to it.
func (c *Console) Routes(mux *http.ServeMux) {
	h := func(pattern string, fn http.HandlerFunc) { mux.Handle(pattern, c.secure(fn)) }
	mux.Handle("GET /{$}", http.RedirectHandler(Prefix, http.StatusSeeOther))
	h("GET "+Prefix+"static/", c.static.ServeHTTP)
	h("GET "+Prefix+"signin", c.signInPage)
	h("POST "+Prefix+"signin", c.signIn)
	h("POST "+Prefix+"signout", c.withSession(c.signOut))
	h("GET "+Prefix+"{$}", c.withSession(c.overview))
	h("GET "+Prefix+"query", c.withSession(c.queryPage)) // the Query page
	h("POST "+Prefix+"query", c.withSession(c.runQuery))
	h("GET "+Prefix+"reports", c.withSession(c.reportsPage))
	h("GET "+Prefix+"reports/{name}", c.withSession(c.reportForm))
	h("GET "+Prefix+"reports/{name}/download", c.withSession(c.reportDownload))
	h("GET "+Prefix+"downloads/{job}", c.withSession(c.reportProgress))
	h("GET "+Prefix+"schedules", c.withSession(c.schedulesPage))
	h("GET "+Prefix+"schedules/{name}", c.withSession(c.schedulePage))
	h("POST "+Prefix+"schedules/{name}/run", c.withSession(c.runNow))
	h("GET "+Prefix+"runs/{id}/files/{file}", c.withSession(c.runFile))
	if c.o.Reports != nil { // Customer lookup
		h("GET "+Prefix+"customers", c.withSession(c.customers))
	}
	h(Prefix, c.notFound)
}

func (c *Console) notFound(w http.ResponseWriter, r *http.Request) {
	c.fail(w, r, http.StatusNotFound, "There is no console page at this address.", "Go to the overview and choose a page from the menu.")
}
