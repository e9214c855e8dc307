package sqlconsole

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sort"
	"time"

	"github.com/privaudit/privaudit/audit/apierr"
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
	ctx := r.Context()
	ru := &run{start: c.o.Now(), user: id.Name, req: req, sql: req.SQL}
	release, err := c.slots.acquire(id.TokenID)
	if err != nil {
		ru.err = err
		c.finish(ctx, ru)
		apierr.Write(w, r, c.o.Logger, err)
		return
	}
	defer release()
	res, err := c.begin(ctx, ru)
	if err != nil {
		ru.err = err
		c.finish(ctx, ru)
		apierr.Write(w, r, c.o.Logger, apiError(err, ru.queryID))
		return
	}
	defer res.Close()
	ru.queryID = res.ID()
	var started bool
	if req.Format == "xlsx" {
		started, err = c.streamXLSX(ctx, w, res, ru)
	} else {
		started, err = true, c.streamText(w, req.Format, res)
	}
	ru.rows, ru.truncated, ru.err = res.Rows(), res.Truncated(), err
	_ = res.Close()
	c.finish(ctx, ru)
	if err != nil && !started {
		apierr.Write(w, r, c.o.Logger, apiError(err, ru.queryID))
	}
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
