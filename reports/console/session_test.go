package console

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/privaudit/privaudit/audit"
	"github.com/privaudit/privaudit/audit/apierr"
	"github.com/privaudit/privaudit/audit/auth"
)

// clock is a settable time for session tests.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

var alice = auth.Identity{TokenID: "a1", Name: "alice", Role: auth.RoleOfficer}

// TestSessionIdleExpiry: a session used within the idle timeout lives on;
// one left unused for the idle timeout is over.
func TestSessionIdleExpiry(t *testing.T) {
	c := &clock{t: time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)}
	s := newSessions(30*time.Minute, 12*time.Hour, c.now)
	se := s.open(alice)
	for range 5 { // 5 × 29 min: longer than the idle timeout in all, but never idle that long
		c.add(29 * time.Minute)
		if _, ok := s.get(se.ID); !ok {
			t.Fatalf("session ended at %s although used every 29 minutes", c.now())
		}
	}
	c.add(30 * time.Minute)
	if _, ok := s.get(se.ID); ok {
		t.Fatal("session still open after 30 minutes unused")
	}
	if _, ok := s.get(se.ID); ok {
		t.Fatal("an expired session came back")
	}
}

// TestSessionAbsoluteExpiry: a session in constant use still ends at its
// maximum age.
func TestSessionAbsoluteExpiry(t *testing.T) {
	c := &clock{t: time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)}
	s := newSessions(30*time.Minute, 2*time.Hour, c.now)
	se := s.open(alice)
	for c.now().Before(se.Created.Add(2*time.Hour - 10*time.Minute)) {
		c.add(10 * time.Minute)
		if _, ok := s.get(se.ID); !ok {
			t.Fatalf("session ended at %s, before its maximum age", c.now())
		}
	}
	if got, want := s.expiresAt(se), se.Created.Add(2*time.Hour); !got.Equal(want) && !got.Before(want) {
		t.Errorf("expiresAt %s after the maximum age %s", got, want)
	}
	c.add(10 * time.Minute)
	if _, ok := s.get(se.ID); ok {
		t.Fatal("session still open at its maximum age although used every 10 minutes")
	}
}

// TestSessionEnd: an ended session is gone; ids and CSRF tokens are 32
// random bytes and differ between sessions.
func TestSessionEnd(t *testing.T) {
	s := newSessions(time.Hour, time.Hour, time.Now)
	a, b := s.open(alice), s.open(alice)
	if a.ID == b.ID || a.CSRF == b.CSRF || len(a.ID) != 43 || len(a.CSRF) != 43 || a.ID == a.CSRF {
		t.Fatalf("ids %q %q, csrf %q %q: want distinct 32-byte tokens", a.ID, b.ID, a.CSRF, b.CSRF)
	}
	if !s.end(a.ID) {
		t.Fatal("end found no session")
	}
	if _, ok := s.get(a.ID); ok {
		t.Fatal("ended session still open")
	}
	if _, ok := s.get(b.ID); !ok {
		t.Fatal("ending one session ended another")
	}
}

// tokens is a fixed token set for handler tests that need no storage.
type tokens map[string]auth.Identity

func (ts tokens) Authenticate(_ context.Context, bearer string) (auth.Identity, error) {
	if id, ok := ts[bearer]; ok {
		return id, nil
	}
	return auth.Identity{}, apierr.Errorf(apierr.Unauthorized, "unknown or revoked token")
}

func (ts tokens) Active(_ context.Context, id string) (auth.Identity, error) {
	for _, v := range ts {
		if v.TokenID == id {
			return v, nil
		}
	}
	return auth.Identity{}, apierr.Errorf(apierr.Unauthorized, "unknown or revoked token")
}

func newTestConsole(t *testing.T) (*Console, *http.ServeMux) {
	t.Helper()
	c, err := New(Options{Tokens: tokens{"pa_a1_s": alice},
		Record: func(context.Context, ...audit.Event) error { return nil },
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	c.Routes(mux)
	return c, mux
}

// TestCSRF: a sign-out post with its session's CSRF token ends the session;
// without it, or with another session's token, it is refused with 403 and a
// page saying what to do, and the session stays open.
func TestCSRF(t *testing.T) {
	c, mux := newTestConsole(t)
	a, b := c.sessions.open(alice), c.sessions.open(alice)
	post := func(csrf string) *httptest.ResponseRecorder {
		form := url.Values{}
		if csrf != "" {
			form.Set(csrfField, csrf)
		}
		req := httptest.NewRequest("POST", Prefix+"signout", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.AddCookie(&http.Cookie{Name: sessionCookie, Value: a.ID})
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, req)
		return rec
	}
	for name, csrf := range map[string]string{"missing": "", "another session's": b.CSRF, "altered": a.CSRF[:42] + "x"} {
		rec := post(csrf)
		body, _ := io.ReadAll(rec.Body)
		if rec.Code != http.StatusForbidden || !strings.Contains(string(body), "reload the page") {
			t.Errorf("%s CSRF token: %d, want 403 with what to do:\n%s", name, rec.Code, body)
		}
		if _, ok := c.sessions.get(a.ID); !ok {
			t.Fatalf("%s CSRF token: the session ended", name)
		}
	}
	if rec := post(a.CSRF); rec.Code != http.StatusSeeOther {
		t.Fatalf("sign-out with its CSRF token: %d, want 303", rec.Code)
	}
	if _, ok := c.sessions.get(a.ID); ok {
		t.Fatal("sign-out with its CSRF token left the session open")
	}
}

// TestCrossOriginPostRefused: a browser's cross-site form post is refused
// before any handler runs, even with a valid session and CSRF token.
func TestCrossOriginPostRefused(t *testing.T) {
	c, mux := newTestConsole(t)
	a := c.sessions.open(alice)
	req := httptest.NewRequest("POST", Prefix+"signout", strings.NewReader(csrfField+"="+url.QueryEscape(a.CSRF)))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	req.AddCookie(&http.Cookie{Name: sessionCookie, Value: a.ID})
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, req)
	if rec.Code != http.StatusForbidden || rec.Header().Get("Content-Security-Policy") == "" {
		t.Fatalf("cross-site post: %d, CSP %q; want 403 with the console's headers", rec.Code, rec.Header().Get("Content-Security-Policy"))
	}
	if _, ok := c.sessions.get(a.ID); !ok {
		t.Fatal("the cross-site post ended the session")
	}
}

// TestSignInReplacesSession: signing in again from a browser that has a
// session ends the old one (no session outlives its replacement), and the
// new session id differs.
func TestSignInReplacesSession(t *testing.T) {
	c, mux := newTestConsole(t)
	old := c.sessions.open(alice)
	form := url.Values{csrfField: {"form-token"}, "token": {"pa_a1_s"}}
	req := httptest.NewRequest("POST", Prefix+"signin", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.AddCookie(&http.Cookie{Name: signInCookie, Value: "form-token"})
	req.AddCookie(&http.Cookie{Name: sessionCookie, Value: old.ID})
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, req)
	if rec.Code != http.StatusSeeOther {
		t.Fatalf("sign-in: %d %s", rec.Code, rec.Body)
	}
	var fresh string
	for _, ck := range rec.Result().Cookies() {
		if ck.Name == sessionCookie {
			fresh = ck.Value
		}
	}
	if _, ok := c.sessions.get(old.ID); ok {
		t.Error("the old session is still open after a new sign-in")
	}
	if _, ok := c.sessions.get(fresh); !ok || fresh == old.ID {
		t.Errorf("new session %q: open %v, want a new open session", fresh, ok)
	}
}
