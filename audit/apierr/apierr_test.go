package apierr

import (
	"bytes"
	"errors"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestWriteLogLevel: a refusal the client is told to retry later (a full
// spool) is logged as a warning; other server-side failures as errors;
// client mistakes not at all.
func TestWriteLogLevel(t *testing.T) {
	for _, c := range []struct {
		err  error
		want string
	}{
		{&Error{Code: Unavailable, Message: "spool full", RetryAfter: time.Second}, "level=WARN"},
		{&Error{Code: Unavailable, Message: "storage down"}, "level=ERROR"},
		{errors.New("boom"), "level=ERROR"},
		{Errorf(Invalid, "bad line"), ""},
	} {
		var logs bytes.Buffer
		log := slog.New(slog.NewTextHandler(&logs, nil))
		Write(httptest.NewRecorder(), httptest.NewRequest("POST", "/v1/events", nil), log, c.err)
		if c.want == "" && logs.Len() != 0 || c.want != "" && !strings.Contains(logs.String(), c.want) {
			t.Errorf("%v: logged %q, want %q", c.err, logs.String(), c.want)
		}
	}
}
