package main

import (
	"context"
	"crypto/tls"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/privaudit/privaudit/reports/console/browsertest"
	"github.com/privaudit/privaudit/reports/schedule"
)

// consoleClient is a cookie-keeping HTTP client of the console that does
// not follow redirects, so a test sees where the console sends it.
func consoleClient(t *testing.T) *http.Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	// Loopback only; the TLS test's certificate is self-signed.
	tr := &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}
	return &http.Client{Jar: jar, Timeout: 60 * time.Second, Transport: tr,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

var csrfInput = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// consoleGet fetches path with c and returns the response and its body.
func (o *officerServer) consoleGet(t *testing.T, c *http.Client, path string) (*http.Response, string) {
	t.Helper()
	resp, err := c.Get(o.srv.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// consolePost posts form to path with c and returns the response and body.
func (o *officerServer) consolePost(t *testing.T, c *http.Client, path string, form url.Values) (*http.Response, string) {
	t.Helper()
	resp, err := c.PostForm(o.srv.URL+path, form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// consoleSignIn signs who in through the sign-in form with a new client and
// returns the client and the session's CSRF token.
func (o *officerServer) consoleSignIn(t *testing.T, who string) (*http.Client, string) {
	t.Helper()
	c := consoleClient(t)
	_, body := o.consoleGet(t, c, "/console/signin")
	m := csrfInput.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("sign-in page without its form token:\n%s", body)
	}
	resp, body := o.consolePost(t, c, "/console/signin", url.Values{"csrf": {m[1]}, "token": {o.token[who]}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/console/" {
		t.Fatalf("sign in as %s: %d %s\n%s", who, resp.StatusCode, resp.Header.Get("Location"), body)
	}
	_, body = o.consoleGet(t, c, "/console/")
	if m = csrfInput.FindStringSubmatch(body); m == nil {
		t.Fatalf("overview without the sign-out form's CSRF token:\n%s", body)
	}
	return c, html.UnescapeString(m[1])
}

// consoleEvents returns the console's access events as "actor outcome
// action" lines, waiting until there are at least n.
func (o *officerServer) consoleEvents(t *testing.T, n int) []string {
	t.Helper()
	return o.trailLines(t, "SELECT actor_id, outcome, attr_values[indexOf(attr_keys, 'console_action')] AS act, "+
		"arrayStringConcat(attr_values, ' ') AS attrs FROM privaudit.access_events FINAL WHERE channel = 'console' ORDER BY occurred_at, act", n)
}

// TestConsoleSignInOut drives a real Chromium through the console of a real
// serve: the sign-in page, an ingest token refused, an officer signing in
// by keyboard, the overview, sign-out; a post without its CSRF token and
// the cookie from before sign-out are refused; the security headers are on
// every page; axe-core finds no serious or critical violation; sign-ins and
// sign-out are access events under the officer's name, and no pasted token
// is recorded.
func TestConsoleSignInOut(t *testing.T) {
	o := startOfficerServer(t)
	b := browsertest.Start(t)

	b.Do(t, "open the console", chromedp.Navigate(o.srv.URL+"/"), chromedp.WaitVisible(chromedp.CSS("#token")))
	if loc := b.Location(t); !strings.HasSuffix(loc, "/console/signin") {
		t.Fatalf("/ led to %s, want the sign-in page", loc)
	}
	b.Axe(t, "sign-in")
	b.NoHorizontalScroll(t, "sign-in")
	b.Screenshot(t, "console-signin")

	b.Do(t, "sign in with the ingest token", chromedp.SendKeys(chromedp.CSS("#token"), o.token["ingest"]),
		chromedp.Click(chromedp.CSS("form.signin button")), chromedp.WaitVisible(chromedp.CSS(".error")))
	if msg := b.Text(t, ".error"); !strings.Contains(msg, "ingest token") || !strings.Contains(msg, "cannot sign in") {
		t.Errorf("ingest token refusal says %q", msg)
	}
	b.Axe(t, "sign-in refused")
	b.Screenshot(t, "console-signin-refused")
	c := consoleClient(t)
	_, body := o.consoleGet(t, c, "/console/signin")
	resp, _ := o.consolePost(t, c, "/console/signin", url.Values{"csrf": {csrfInput.FindStringSubmatch(body)[1]}, "token": {"pa_0000_not-a-real-secret"}})
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("unknown token: %d, want 401", resp.StatusCode)
	}

	// By keyboard: the token field, then Enter.
	b.Do(t, "sign in as alice", chromedp.Focus(chromedp.CSS("#token")), chromedp.SendKeys(chromedp.CSS("#token"), o.token["alice"]+"\r"),
		chromedp.WaitVisible(chromedp.CSS("#you")))
	if who := b.Text(t, "header .who"); !strings.Contains(who, "alice") {
		t.Errorf("header says %q, want the officer's name", who)
	}
	b.Axe(t, "overview")
	b.NoHorizontalScroll(t, "overview")
	b.Screenshot(t, "console-overview")
	b.Do(t, "open a missing page", chromedp.Navigate(o.srv.URL+"/console/no-such-page"), chromedp.WaitVisible(chromedp.CSS(".error")))
	if msg := b.Text(t, ".error"); !strings.Contains(msg, "What to do") {
		t.Errorf("missing page says %q, without what to do", msg)
	}
	b.Axe(t, "error page")
	b.Screenshot(t, "console-error")
	b.Do(t, "back to the overview", chromedp.Navigate(o.srv.URL+"/console/"), chromedp.WaitVisible(chromedp.CSS("#you")))
	focused := browsertest.TabThrough(t, b, 40)
	for _, w := range []string{"A Skip to main content", "A Overview", "BUTTON Sign out"} {
		if !slices.Contains(focused, w) {
			t.Errorf("Tab never reaches %q; it visits %q", w, focused)
		}
	}

	var session string
	for _, ck := range b.Cookies(t) {
		if ck.Name == "privaudit_session" {
			session = ck.Value
			if !ck.HTTPOnly || ck.SameSite != "Strict" || ck.Path != "/" || ck.Secure {
				t.Errorf("session cookie HttpOnly %v SameSite %q Path %q Secure %v: want HttpOnly, Strict, /, not Secure over plain HTTP",
					ck.HTTPOnly, ck.SameSite, ck.Path, ck.Secure)
			}
		}
	}
	if len(session) != 43 {
		t.Fatalf("session cookie %d characters, want 32 random bytes in base64url", len(session))
	}
	csrf := mustAttr(t, b, "header form input[name=csrf]")
	old := consoleClient(t)
	u, _ := url.Parse(o.srv.URL)
	old.Jar.SetCookies(u, []*http.Cookie{{Name: "privaudit_session", Value: session}})

	resp, body = o.consoleGet(t, old, "/console/")
	checkConsoleHeaders(t, "overview", resp)
	if resp.StatusCode != 200 || !strings.Contains(body, "alice") {
		t.Fatalf("overview with the browser's cookie: %d", resp.StatusCode)
	}
	resp, body = o.consolePost(t, old, "/console/signout", nil)
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "reload the page") {
		t.Errorf("sign-out without its CSRF token: %d, want 403 saying what to do:\n%s", resp.StatusCode, body)
	}
	checkConsoleHeaders(t, "CSRF refusal", resp)
	if resp, _ = o.consoleGet(t, old, "/console/"); resp.StatusCode != 200 {
		t.Fatalf("the refused post ended the session: %d", resp.StatusCode)
	}

	b.Do(t, "sign out by keyboard", chromedp.Focus(chromedp.CSS("header form button")), chromedp.KeyEvent("\r"),
		chromedp.WaitVisible(chromedp.CSS(".notice")))
	if msg := b.Text(t, ".notice"); !strings.Contains(msg, "signed out") {
		t.Errorf("after sign-out the page says %q", msg)
	}
	b.Axe(t, "signed out")
	resp, _ = o.consoleGet(t, old, "/console/")
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/console/signin") {
		t.Errorf("cookie from before sign-out: %d to %q, want 303 to the sign-in", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, _ = o.consolePost(t, old, "/console/signout", url.Values{"csrf": {csrf}})
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("post with the cookie and CSRF token from before sign-out: %d, want 403", resp.StatusCode)
	}
	resp, _ = o.consoleGet(t, consoleClient(t), "/console/signin")
	checkConsoleHeaders(t, "sign-in", resp)

	evs := o.consoleEvents(t, 4)
	want := []string{"ingest,denied,sign_in_refused", "unknown,denied,sign_in_refused", "alice,allowed,sign_in", "alice,allowed,sign_out"}
	joined := strings.Join(evs, "\n")
	for _, w := range want {
		if !strings.Contains(joined, w) {
			t.Errorf("no console event %q in:\n%s", w, joined)
		}
	}
	for who, tok := range map[string]string{"ingest": o.token["ingest"], "alice": o.token["alice"], "unknown": "not-a-real-secret"} {
		if strings.Contains(joined, tok[strings.LastIndex(tok, "_")+1:]) {
			t.Errorf("the secret of %s's pasted token is in the audit trail", who)
		}
	}
}

// mustAttr returns the value attribute of the element sel.
func mustAttr(t *testing.T, b *browsertest.Browser, sel string) string {
	t.Helper()
	return browsertest.Must(t, b, "value of "+sel, chromedp.Value(chromedp.CSS(sel)))
}

// checkConsoleHeaders asserts the console's security headers on resp.
func checkConsoleHeaders(t *testing.T, page string, resp *http.Response) {
	t.Helper()
	csp := resp.Header.Get("Content-Security-Policy")
	for _, d := range []string{"default-src 'self'", "frame-ancestors 'none'", "form-action 'self'", "base-uri 'none'"} {
		if !strings.Contains(csp, d) {
			t.Errorf("%s: CSP %q lacks %s", page, csp, d)
		}
	}
	if strings.Contains(csp, "unsafe-inline") {
		t.Errorf("%s: CSP allows inline code: %q", page, csp)
	}
	for h, v := range map[string]string{"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer", "Cache-Control": "no-store", "X-Frame-Options": "DENY"} {
		if got := resp.Header.Get(h); got != v {
			t.Errorf("%s: %s %q, want %q", page, h, got, v)
		}
	}
}

// TestConsoleSessionEndsWithToken: revoking the token a session was opened
// with ends the session at its next request.
func TestConsoleSessionEndsWithToken(t *testing.T) {
	o := startOfficerServer(t)
	c, _ := o.consoleSignIn(t, "bob")
	if resp, _ := o.consoleGet(t, c, "/console/"); resp.StatusCode != 200 {
		t.Fatalf("overview after sign-in: %d", resp.StatusCode)
	}
	id := strings.SplitN(o.token["bob"], "_", 3)[1]
	if err := o.srv.tokens.Revoke(context.Background(), id); err != nil {
		t.Fatal(err)
	}
	resp, _ := o.consoleGet(t, c, "/console/")
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/console/signin?m=revoked" {
		t.Fatalf("session of a revoked token: %d to %q, want 303 to the sign-in saying it was revoked", resp.StatusCode, resp.Header.Get("Location"))
	}
	if resp, _ = o.consoleGet(t, c, "/console/"); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("the revoked token's session came back: %d", resp.StatusCode)
	}
	if _, err := o.srv.tokens.Authenticate(context.Background(), o.token["bob"]); err == nil {
		t.Fatal("the revoked token still authenticates")
	}
}

// TestConsoleOverviewShowsRuns: a scheduled run appears on the overview
// with its schedule, report, status and rows.
func TestConsoleOverviewShowsRuns(t *testing.T) {
	o := startOfficerServerWith(t, func(c *Config) {
		c.Schedules = []schedule.Config{{Name: "console-nightly", Cron: "0 2 * * *", Report: "violations",
			Period: "previous_day", Formats: []string{"csv"}}}
	})
	c, _ := o.consoleSignIn(t, "alice")
	if _, body := o.consoleGet(t, c, "/console/"); !strings.Contains(body, "No scheduled run yet") {
		t.Fatalf("overview before any run does not say so:\n%s", body)
	}
	if resp, body := o.read(t, "POST", "/v1/schedules/console-nightly/run", "alice", ""); resp.StatusCode != 200 || !strings.Contains(body, `"status":"success"`) {
		t.Fatalf("run now: %d %s", resp.StatusCode, body)
	}
	resp, body := o.consoleGet(t, c, "/console/")
	row := regexp.MustCompile(`<td>console-nightly</td><td>violations</td>.*\n?.*status-success">success<`)
	if resp.StatusCode != 200 || !row.MatchString(body) {
		t.Fatalf("overview after the run: %d, no row for it:\n%s", resp.StatusCode, body)
	}
}

// TestTokenRevokeCommand: `privaudit token revoke`, run beside a serving
// privaudit, makes it refuse the token on the API and end the console
// session opened with it; an unknown id is an error naming what the id is.
func TestTokenRevokeCommand(t *testing.T) {
	var dir string
	o := startOfficerServerWith(t, func(c *Config) { dir = c.DataDir })
	o.srv.tokens.RefreshEvery = time.Second // before any request: the command revokes in another store
	c, _ := o.consoleSignIn(t, "bob")
	id := strings.SplitN(o.token["bob"], "_", 3)[1]
	var stderr strings.Builder
	if err := run(context.Background(), []string{"token", "revoke", "--id", id, "--data-dir", dir}, io.Discard, &stderr); err != nil {
		t.Fatalf("token revoke: %v\n%s", err, stderr.String())
	}
	for deadline := time.Now().Add(90 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		resp, _ := o.consoleGet(t, c, "/console/")
		if resp.StatusCode == http.StatusSeeOther && resp.Header.Get("Location") == "/console/signin?m=revoked" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the console session outlived its revoked token: %d %q", resp.StatusCode, resp.Header.Get("Location"))
		}
	}
	if resp, _ := o.read(t, "GET", "/v1/reports", "bob", ""); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("API with the revoked token: %d, want 401", resp.StatusCode)
	}
	err := run(context.Background(), []string{"token", "revoke", "--id", "nosuchid", "--data-dir", dir}, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "no token with id") {
		t.Errorf("revoking an unknown id: %v", err)
	}
}

// TestConsoleCookieSecureUnderTLS: over TLS the session cookie is Secure
// and the console sends HSTS.
func TestConsoleCookieSecureUnderTLS(t *testing.T) {
	cert, key := writeCert(t, t.TempDir())
	o := startOfficerServerWith(t, func(c *Config) { c.TLSCert, c.TLSKey = cert, key })
	if !strings.HasPrefix(o.srv.URL, "https://") {
		t.Fatalf("serve with a certificate speaks %s", o.srv.URL)
	}
	c := consoleClient(t)
	_, body := o.consoleGet(t, c, "/console/signin")
	resp, _ := o.consolePost(t, c, "/console/signin", url.Values{"csrf": {csrfInput.FindStringSubmatch(body)[1]}, "token": {o.token["alice"]}})
	var session *http.Cookie
	for _, ck := range resp.Cookies() {
		if ck.Name == "privaudit_session" {
			session = ck
		}
	}
	if resp.StatusCode != http.StatusSeeOther || session == nil || !session.Secure || !session.HttpOnly || session.SameSite != http.SameSiteStrictMode {
		t.Fatalf("sign-in over TLS: %d, cookie %+v: want a Secure, HttpOnly, SameSite=Strict session cookie", resp.StatusCode, session)
	}
	if hsts := resp.Header.Get("Strict-Transport-Security"); !strings.HasPrefix(hsts, "max-age=") {
		t.Errorf("no HSTS over TLS: %q", hsts)
	}
	if resp, _ = o.consoleGet(t, c, "/console/"); resp.StatusCode != 200 {
		t.Errorf("overview over TLS: %d", resp.StatusCode)
	}
}

// TestConsoleConfig: the session expiries come from the YAML file, then
// PRIVAUDIT_CONSOLE_*; an idle timeout past the maximum age is refused by
// name.
func TestConsoleConfig(t *testing.T) {
	path := filepath.Join(t.TempDir(), "privaudit.yaml")
	if err := os.WriteFile(path, []byte("console:\n  idle_timeout: 10m\n  max_age: 1h\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"PRIVAUDIT_CONSOLE_IDLE_TIMEOUT": "5m"}
	c, err := LoadConfig(path, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if c.Console.IdleTimeout != 5*time.Minute || c.Console.MaxAge != time.Hour {
		t.Errorf("console %+v: want idle 5m (environment over file) and max age 1h (file)", c.Console)
	}
	c.Console.IdleTimeout = 2 * time.Hour
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "console.idle_timeout") {
		t.Errorf("idle timeout past the maximum age: %v", err)
	}
	if d := DefaultConfig().Console; d.IdleTimeout != 30*time.Minute || d.MaxAge != 12*time.Hour {
		t.Errorf("default console %+v: want 30m and 12h", d)
	}
}
