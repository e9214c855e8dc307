package console

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/privaudit/privaudit/audit"
)

// TestSignInThrottledPerAddress: past SignInLimit refused sign-ins in a
// window, an address's attempts are turned away with 429 and Retry-After,
// unchecked (even a valid token), and only the first of them is recorded;
// other addresses sign in as usual, and the address may again once the
// window ends.
func TestSignInThrottledPerAddress(t *testing.T) {
	clk := &clock{t: time.Date(2026, 12, 8, 9, 0, 0, 0, time.UTC)}
	var mu sync.Mutex
	var recorded []audit.Event
	c, err := New(Options{Tokens: tokens{"pa_a1_s": alice}, Now: clk.now, Logger: slog.New(slog.DiscardHandler),
		Record: func(_ context.Context, evs ...audit.Event) error {
			mu.Lock()
			defer mu.Unlock()
			recorded = append(recorded, evs...)
			return nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	c.Routes(mux)
	signIn := func(addr, token string) *httptest.ResponseRecorder {
		form := url.Values{csrfField: {"form-token"}, "token": {token}}
		req := httptest.NewRequest("POST", Prefix+"signin", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.AddCookie(&http.Cookie{Name: signInCookie, Value: "form-token"})
		req.RemoteAddr = addr
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, req)
		return rec
	}
	refusals := func() int {
		mu.Lock()
		defer mu.Unlock()
		n := 0
		for _, e := range recorded {
			if e.AttrValues[0] == actSignInRefused {
				n++
			}
		}
		return n
	}
	const attacker, officer = "192.0.2.7:40000", "198.51.100.2:50000"
	for i := range SignInLimit {
		if rec := signIn(attacker, "pa_guess_"+string(rune('a'+i))); rec.Code != http.StatusUnauthorized {
			t.Fatalf("refused sign-in %d: %d, want 401", i+1, rec.Code)
		}
	}
	if n := refusals(); n != SignInLimit {
		t.Fatalf("%d refusals recorded, want %d", n, SignInLimit)
	}
	for i := range 3 {
		rec := signIn(attacker, "pa_a1_s")
		if rec.Code != http.StatusTooManyRequests || rec.Header().Get("Retry-After") != "60" || !strings.Contains(rec.Body.String(), "Wait 60 seconds") {
			t.Fatalf("attempt %d past the limit (a valid token): %d, Retry-After %q; want 429 saying to wait 60 seconds:\n%s", i+1, rec.Code, rec.Header().Get("Retry-After"), rec.Body)
		}
	}
	if n := refusals(); n != SignInLimit+1 {
		t.Errorf("%d refusals recorded, want %d: the refused ones and the first turned away", n, SignInLimit+1)
	}
	if rec := signIn(officer, "pa_a1_s"); rec.Code != http.StatusSeeOther {
		t.Errorf("another address: %d, want 303 (signed in)", rec.Code)
	}
	clk.add(SignInWindow)
	if rec := signIn(attacker, "pa_a1_s"); rec.Code != http.StatusSeeOther {
		t.Errorf("the throttled address after the window: %d, want 303 (signed in)", rec.Code)
	}
}

// TestThrottleBoundsAddresses: past maxTracked addresses, new ones share
// one allowance instead of growing the table; addresses whose window ended
// are forgotten first.
func TestThrottleBoundsAddresses(t *testing.T) {
	clk := &clock{t: time.Date(2026, 12, 8, 9, 0, 0, 0, time.UTC)}
	th := newThrottle(clk.now)
	for i := range maxTracked {
		th.refused(url.PathEscape(time.Duration(i).String()))
	}
	for range SignInLimit {
		th.refused("203.0.113.9")
	}
	if ok, _, _ := th.allow("203.0.113.10"); ok {
		t.Error("an untracked address past the bound: allowed, want it to share the exhausted allowance")
	}
	if len(th.byAddr) != maxTracked+1 {
		t.Errorf("%d addresses tracked, want %d and the shared one", len(th.byAddr), maxTracked)
	}
	clk.add(SignInWindow)
	if ok, _, _ := th.allow("203.0.113.10"); !ok || len(th.byAddr) != 1 {
		t.Errorf("after the window: allowed %v with %d tracked; want allowed, the ended windows forgotten", ok, len(th.byAddr))
	}
}
