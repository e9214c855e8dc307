// Package apierr defines privaudit's application error codes and maps them
// to HTTP responses at the edge, so handlers return errors and one function
// decides the status code and the JSON body.
package apierr

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"time"
)

// Application error codes.
const (
	Invalid      = "invalid"      // 400: the request or its data is wrong
	Unauthorized = "unauthorized" // 401: no or unknown credentials
	Forbidden    = "forbidden"    // 403: credentials lack the role
	NotFound     = "not_found"    // 404
	TooLarge     = "too_large"    // 413
	TooMany      = "too_many"     // 429: the caller's own limit; try again later (Retry-After)
	Unavailable  = "unavailable"  // 503: try again later (Retry-After)
	Internal     = "internal"     // 500
)

// Error is an application error with a code, a message safe to show to the
// client and optional structured details (e.g. the bad lines of a request).
type Error struct {
	Code       string
	Message    string
	Details    any
	RetryAfter time.Duration // for Unavailable and TooMany
	Err        error         // the cause, logged but not shown
}

func (e *Error) Error() string {
	if e.Err != nil {
		return e.Message + ": " + e.Err.Error()
	}
	return e.Message
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error with code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Code returns the code of err, Internal when err is not an *Error.
func Code(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return Internal
}

var statuses = map[string]int{
	Invalid: http.StatusBadRequest, Unauthorized: http.StatusUnauthorized,
	Forbidden: http.StatusForbidden, NotFound: http.StatusNotFound,
	TooLarge: http.StatusRequestEntityTooLarge, TooMany: http.StatusTooManyRequests,
	Unavailable: http.StatusServiceUnavailable,
	Internal:    http.StatusInternalServerError,
}

// Status maps an error code to its HTTP status.
func Status(code string) int {
	if s, ok := statuses[code]; ok {
		return s
	}
	return http.StatusInternalServerError
}

// Write sends err as a JSON error response: {"error": {"code", "message",
// "details"}}. Internal errors are logged and shown without their cause.
func Write(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	var e *Error
	if !errors.As(err, &e) {
		e = &Error{Code: Internal, Message: "internal error", Err: err}
	}
	status := Status(e.Code)
	if status >= 500 && log != nil {
		// Back-pressure the client is told to retry (a full spool) is
		// expected under load: a warning, not an error per request.
		level := slog.LevelError
		if e.Code == Unavailable && e.RetryAfter > 0 {
			level = slog.LevelWarn
		}
		log.Log(r.Context(), level, "request failed", "method", r.Method, "path", r.URL.Path, "code", e.Code, "err", err)
	}
	if e.Code == Unauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="privaudit"`)
	}
	if e.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int((e.RetryAfter+time.Second-1)/time.Second)))
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	body := map[string]any{"code": e.Code, "message": e.Message}
	if e.Details != nil {
		body["details"] = e.Details
	}
	_ = json.NewEncoder(w).Encode(map[string]any{"error": body})
}
