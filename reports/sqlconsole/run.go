package sqlconsole

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/privaudit/privaudit/audit/apierr"
	"github.com/privaudit/privaudit/audit/auth"
	"github.com/privaudit/privaudit/queries"
)

// run is one query run, from the request to its audit record.
type run struct {
	start     time.Time
	user      string
	req       Request
	title     string   // of the saved query
	sql       string   // the SQL text run (a saved query's rendered body)
	params    []string // names of the parameters given, never their values
	queryID   string
	rows      int64
	truncated bool
	err       error
}

// status is ok, refused or error, as recorded in the audit event.
func (ru *run) status() string {
	switch {
	case ru.err == nil:
		return "ok"
	case queries.KindOf(ru.err) == queries.ErrRefused, ru.busy():
		return "refused"
	}
	return "error"
}

// busy reports whether the run was refused for want of a free query slot.
func (ru *run) busy() bool {
	var ae *apierr.Error
	return errors.As(ru.err, &ae) && (ae.Code == apierr.TooMany || ae.Code == apierr.Unavailable)
}

// errorKind names why the run failed: a queries.ErrorKind, or canceled
// when the client went away mid-stream.
func (ru *run) errorKind(ctx context.Context) string {
	var qe *queries.QueryError
	if errors.As(ru.err, &qe) {
		return qe.Kind.String()
	}
	if ru.busy() {
		return "busy"
	}
	if ctx.Err() != nil {
		return queries.ErrCanceled.String()
	}
	return queries.ErrInternal.String()
}

func (c *Console) serveQuery(w http.ResponseWriter, r *http.Request) {
	id, err := c.identity(r)
	if err != nil {
		apierr.Write(w, r, c.o.Logger, err)
		return
	}
	req, err := c.decodeRequest(w, r)
	if err != nil {
		apierr.Write(w, r, c.o.Logger, err)
		return
	}
	if err := c.Serve(w, r, id, req); err != nil {
		apierr.Write(w, r, c.o.Logger, err)
	}
}

// Serve answers req for id as POST /v1/query does, writing the result to w
// in req.Format. An error before the first byte is returned, not written,
// so a caller with its own error pages (the web console) can show it.
func (c *Console) Serve(w http.ResponseWriter, r *http.Request, id auth.Identity, req Request) error {
	if req.Format == "" {
		req.Format = "json"
	}
	if !slices.Contains(Formats, req.Format) {
		return apierr.Errorf(apierr.Invalid, "unknown format %q; want one of %s", req.Format, strings.Join(Formats, ", "))
	}
	if err := checkRequest(req); err != nil {
		return err
	}
	return c.execute(r.Context(), id, req, func(ctx context.Context, res *queries.Result, ru *run) (bool, error) {
		if req.Format == "xlsx" {
			return c.streamXLSX(ctx, w, res, ru)
		}
		return true, c.streamText(w, req.Format, res)
	})
}

// Run runs req for id — the web console's signed-in officer — through the
// path of POST /v1/query: the role check, the query slots of id's token,
// the statement guard and read-only reader, the wait for fresh verdicts of
// a saved query, and the access event under id's name. read consumes the
// result and returns res.Err() or its own error; the rows it reads are the
// rows recorded. req.Format names how the caller shows the result (it is
// recorded, not rendered). A failure is returned with its
// *queries.QueryError in the chain.
func (c *Console) Run(ctx context.Context, id auth.Identity, req Request, read func(*queries.Result) error) error {
	if err := checkRequest(req); err != nil {
		return err
	}
	return c.execute(ctx, id, req, func(_ context.Context, res *queries.Result, _ *run) (bool, error) {
		return false, read(res)
	})
}

// consumer reads a started query's result; started reports whether
// anything was sent to the client, after which an error cannot be.
type consumer func(ctx context.Context, res *queries.Result, ru *run) (started bool, err error)

// execute runs req for id, hands the result to consume and records the
// run; it returns the error not yet sent, mapped by apiError.
func (c *Console) execute(ctx context.Context, id auth.Identity, req Request, consume consumer) error {
	if err := checkRole(id); err != nil {
		return err
	}
	ru := &run{start: c.o.Now(), user: id.Name, req: req, sql: req.SQL}
	release, err := c.slots.acquire(id.TokenID)
	if err != nil {
		ru.err = err
		c.finish(ctx, ru)
		return err
	}
	defer release()
	res, err := c.begin(ctx, ru)
	if err != nil {
		ru.err = err
		c.finish(ctx, ru)
		return apiError(err, ru.queryID)
	}
	defer res.Close()
	ru.queryID = res.ID()
	started, err := consume(ctx, res, ru)
	ru.rows, ru.truncated, ru.err = res.Rows(), res.Truncated(), err
	_ = res.Close()
	c.finish(ctx, ru)
	if err != nil && !started {
		return apiError(err, ru.queryID)
	}
	return nil
}

// begin resolves the request into a query and starts it.
func (c *Console) begin(ctx context.Context, ru *run) (*queries.Result, error) {
	q := queries.Query{SQL: ru.req.SQL, User: ru.user}
	if ru.req.Saved != "" {
		for name := range ru.req.Params {
			ru.params = append(ru.params, name)
		}
		sort.Strings(ru.params)
		sq, err := queries.LookupSaved(ru.req.Saved)
		if err != nil {
			return nil, err
		}
		ru.title = sq.Title
		if ru.sql, err = sq.SQL(c.o.Schema); err != nil {
			return nil, err
		}
		if q.Args, err = sq.Bind(ru.req.Params); err != nil {
			return nil, err
		}
		q.SQL = ru.sql
		if err := c.waitVerdicts(ctx); err != nil {
			return nil, err
		}
	}
	return c.o.Runner.Query(ctx, q)
}

// waitVerdicts waits, through Options.WaitVerdicts and for at most
// Options.FreshWait, until the stored verdicts reflect every record
// accepted before the request; a wait that times out is an ErrUnavailable
// saying what is pending.
func (c *Console) waitVerdicts(ctx context.Context) error {
	if c.o.WaitVerdicts == nil {
		return nil
	}
	wctx, cancel := context.WithTimeout(ctx, c.o.FreshWait)
	defer cancel()
	_, err := c.o.WaitVerdicts(wctx)
	switch {
	case err == nil:
		return nil
	case ctx.Err() != nil:
		return &queries.QueryError{Kind: queries.ErrCanceled, Message: "canceled while waiting for the stored verdicts", Err: ctx.Err()}
	}
	return &queries.QueryError{Kind: queries.ErrUnavailable, Err: err,
		Message: fmt.Sprintf("the stored verdicts do not yet reflect every record accepted before this query (still pending after %s: %v); "+
			"the records are safe in the spool: check the ingest writers (GET /metrics, the server log) and run the saved query again", c.o.FreshWait, err)}
}

// finish records the run as an access event and logs it — without the SQL
// text or parameter values, which may hold personal data.
func (c *Console) finish(ctx context.Context, ru *run) {
	ev := auditEvent(ru, c.o.Now(), ru.errorKind(ctx))
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	recErr := c.o.Record(rctx, ev)
	attrs := []any{"user", ru.user, "query_id", ru.queryID, "saved", ru.req.Saved, "format", ru.req.Format,
		"status", ru.status(), "rows", ru.rows, "truncated", ru.truncated,
		"took", c.o.Now().Sub(ru.start).Round(time.Millisecond)}
	level := slog.LevelInfo
	if ru.err != nil {
		attrs = append(attrs, "error", ru.errorKind(ctx))
		level = logLevelFor(ru.err)
	}
	c.o.Logger.Log(ctx, level, "query run", attrs...)
	if recErr != nil {
		c.o.Logger.Error("query run not recorded in the audit trail", "query_id", ru.queryID, "user", ru.user, "err", recErr)
	}
}

// logLevelFor is the level a failed run is logged at: refusals and user
// mistakes are routine, anything else is worth a look.
func logLevelFor(err error) slog.Level {
	switch queries.KindOf(err) {
	case queries.ErrRefused, queries.ErrInvalid, queries.ErrLimit, queries.ErrNotFound, queries.ErrCanceled:
		return slog.LevelInfo
	}
	return slog.LevelWarn
}
