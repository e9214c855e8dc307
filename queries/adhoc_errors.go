package queries

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"regexp"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
)

// ErrorKind classifies why an ad-hoc or saved query did not run to the end.
type ErrorKind int

// The kinds of QueryError.
const (
	// ErrRefused: the statement is not allowed (a write, DDL, SET/SETTINGS,
	// a table function, another database, a second statement).
	ErrRefused ErrorKind = iota + 1
	// ErrLimit: the query was stopped by a limit (time, memory, rows, bytes).
	ErrLimit
	// ErrInvalid: the query or its parameters are wrong (syntax, unknown
	// table or column, a parameter of the wrong type).
	ErrInvalid
	// ErrNotFound: no saved query has that name.
	ErrNotFound
	// ErrUnavailable: ClickHouse is unreachable or overloaded; try again.
	ErrUnavailable
	// ErrCanceled: the caller went away.
	ErrCanceled
	// ErrInternal: anything else (e.g. the reader's credentials are refused).
	ErrInternal
)

var kindNames = map[ErrorKind]string{
	ErrRefused: "refused", ErrLimit: "limit", ErrInvalid: "invalid", ErrNotFound: "not_found",
	ErrUnavailable: "unavailable", ErrCanceled: "canceled", ErrInternal: "internal",
}

// String names the kind: refused, limit, invalid, not_found, unavailable,
// canceled or internal.
func (k ErrorKind) String() string {
	if s, ok := kindNames[k]; ok {
		return s
	}
	return "internal"
}

// QueryError is a failed ad-hoc or saved query, with a message fit for the
// person who wrote the query: no stack trace, and what to do next.
type QueryError struct {
	Kind ErrorKind
	// Code is the ClickHouse error code, 0 when the error did not come from
	// the server.
	Code    int32
	Message string
	Err     error // the cause
}

// Error returns the message.
func (e *QueryError) Error() string { return e.Message }

// Unwrap returns the cause.
func (e *QueryError) Unwrap() error { return e.Err }

// KindOf returns the kind of err: that of a *QueryError in its chain, else
// ErrInternal.
func KindOf(err error) ErrorKind {
	var qe *QueryError
	if errors.As(err, &qe) {
		return qe.Kind
	}
	return ErrInternal
}

// ClickHouse error codes the runner explains.
const (
	codeNotImplemented   = 48
	codeSyntax           = 62
	codeTooManyRows      = 158
	codeTimeout          = 159
	codeReadonly         = 164
	codeUnknownUser      = 192
	codeWrongPassword    = 193
	codeTooManyQueries   = 202
	codeMemoryLimit      = 241
	codeDatabaseDenied   = 291
	codeTooManyBytes     = 307
	codeQueryCancelled   = 394
	codeTooManyRowsBytes = 396
	codeAccessDenied     = 497
	codeAuthFailed       = 516
)

var maximumRE = regexp.MustCompile(`maximum: ([0-9.]+(?: [KMGTP]?i?B)?)`)

// translate turns an error from the driver into a *QueryError. timedOut says
// whether the runner's own timeout cancelled the query.
func translate(err error, timedOut bool, timeout time.Duration) error {
	if err == nil {
		return nil
	}
	var qe *QueryError
	if errors.As(err, &qe) {
		return err
	}
	var ex *clickhouse.Exception
	if errors.As(err, &ex) {
		if ex.Code == codeQueryCancelled && timedOut {
			return stoppedByTimeout(err, timeout)
		}
		return fromException(ex)
	}
	switch {
	case timedOut && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)):
		return stoppedByTimeout(err, timeout)
	case errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded):
		return &QueryError{Kind: ErrCanceled, Message: "query cancelled", Err: err}
	}
	var ne net.Error
	if errors.As(err, &ne) || errors.Is(err, io.EOF) || errors.Is(err, clickhouse.ErrAcquireConnTimeout) {
		return &QueryError{Kind: ErrUnavailable, Message: "ClickHouse is unreachable or busy; try again in a moment", Err: err}
	}
	return &QueryError{Kind: ErrInternal, Message: "query failed: " + firstLine(err.Error()), Err: err}
}

func stoppedByTimeout(err error, timeout time.Duration) error {
	return &QueryError{Kind: ErrLimit, Err: err,
		Message: fmt.Sprintf("query stopped: it ran longer than privaudit's limit of %s; narrow the period or add filters", timeout)}
}

// fromException explains a ClickHouse exception.
func fromException(ex *clickhouse.Exception) *QueryError {
	msg := cleanMessage(ex.Message)
	qe := &QueryError{Code: ex.Code, Err: ex}
	maximum := ""
	if m := maximumRE.FindStringSubmatch(msg); m != nil {
		maximum = m[1]
	}
	switch ex.Code {
	case codeReadonly:
		qe.Kind, qe.Message = ErrRefused, readonlyMessage(msg)
	case codeDatabaseDenied, codeAccessDenied:
		qe.Kind = ErrRefused
		qe.Message = "query refused: " + msg + "; ad-hoc SQL may read only privaudit's officer database (see `SHOW TABLES`)"
	case codeTimeout:
		qe.Kind = ErrLimit
		qe.Message = "query stopped: exceeded max_execution_time" + of(maximum, "s") + "; narrow the period, add filters or aggregate less"
	case codeMemoryLimit:
		qe.Kind = ErrLimit
		qe.Message = "query stopped: exceeded max_memory_usage" + of(maximum, "") + "; use fewer GROUP BY keys, smaller JOINs or a shorter period"
	case codeTooManyRows, codeTooManyBytes, codeTooManyRowsBytes:
		qe.Kind = ErrLimit
		qe.Message = "query stopped: " + msg + " (a limit of the query reader); add LIMIT, filters or aggregation"
	case codeTooManyQueries:
		qe.Kind, qe.Message = ErrUnavailable, "ClickHouse is running too many queries; try again in a moment"
	case codeUnknownUser, codeWrongPassword, codeAuthFailed:
		qe.Kind = ErrInternal
		qe.Message = "ClickHouse refused the query reader's credentials; an administrator should check clickhouse.reader_user and reader_password"
	case codeSyntax:
		qe.Kind, qe.Message = syntaxMessage(msg)
	case codeNotImplemented:
		qe.Kind, qe.Message = ErrInvalid, "not supported by this ClickHouse server: "+msg
	default:
		qe.Kind = ErrInvalid
		qe.Message = fmt.Sprintf("query failed: %s (ClickHouse error %d)", msg, ex.Code)
	}
	return qe
}

func of(maximum, unit string) string {
	if maximum == "" {
		return ""
	}
	return " of " + maximum + unit
}

func readonlyMessage(msg string) string {
	low := strings.ToLower(msg)
	switch {
	case strings.Contains(low, "set query") || strings.Contains(low, "setting"):
		return "query refused: settings cannot be changed (SET or SETTINGS): the query reader's limits are fixed by the server"
	case strings.Contains(low, "table functions"):
		return "query refused: table functions (file, url, remote, numbers, …) are not allowed; query privaudit's tables"
	case strings.Contains(low, "kill"):
		return "query refused: the query reader may not kill other users' queries"
	}
	return "query refused: the query reader is read-only (" + msg + "); only " + allowedList + " are allowed"
}

func syntaxMessage(msg string) (ErrorKind, string) {
	if strings.Contains(msg, "Multi-statements") {
		return ErrRefused, "query refused: only one statement per query"
	}
	if i := strings.Index(msg, ". Expected one of:"); i > 0 {
		msg = msg[:i]
	} else if i := strings.Index(msg, ", expected "); i > 0 && len(msg) > 300 {
		msg = msg[:i]
	}
	if strings.Contains(msg, "EXPLAIN") {
		return ErrInvalid, msg + " (this ClickHouse server does not support EXPLAIN)"
	}
	return ErrInvalid, msg
}

// cleanMessage strips ClickHouse's exception prefix and any stack trace.
func cleanMessage(m string) string {
	m = strings.TrimPrefix(strings.TrimSpace(m), "DB::Exception: ")
	for _, cut := range []string{", Stack trace", "\nStack trace", ". Stack trace", " (version "} {
		if i := strings.Index(m, cut); i > 0 {
			m = m[:i]
		}
	}
	m = strings.TrimSpace(m)
	m = strings.TrimSuffix(m, ".")
	return firstLine(m)
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
