package console

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/privaudit/privaudit/audit/apierr"
	"github.com/privaudit/privaudit/audit/auth"
)

// Message codes the sign-in page may be sent with (?m=); only these fixed
// texts are shown, never text from the address.
const (
	msgSignedOut = "signed_out"
	msgExpired   = "expired"
	msgRevoked   = "revoked"
)

var signInMessages = map[string]string{
	msgSignedOut: "You are signed out.",
	msgExpired:   "Your session has ended (signed out, unused for too long, past its maximum age, or privaudit restarted). Sign in again.",
	msgRevoked:   "The token you signed in with has been revoked, so your session ended. Ask an admin for a new officer token.",
}

// page is what every template gets.
type page struct {
	Title   string
	Nav     string // the navigation entry of this page
	Session *session
	CSRF    string
	Version string
	Data    any
}

// parsePages parses each page template together with the layout.
func parsePages() (map[string]*template.Template, error) {
	funcs := template.FuncMap{"when": func(t time.Time) string {
		if t.IsZero() {
			return "—"
		}
		return t.UTC().Format("2006-01-02 15:04 UTC")
	}, "day": func(t time.Time) string { return t.UTC().Format("2006-01-02") }}
	out := map[string]*template.Template{}
	for _, name := range []string{"signin", "overview", "error", "query", "reports", "report", "schedules", "schedule", "customers"} {
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/"+name+".html")
		if err != nil {
			return nil, err
		}
		out[name] = t
	}
	return out, nil
}

// render writes page name with status, whole or not at all.
func (c *Console) render(w http.ResponseWriter, r *http.Request, status int, name string, p page) {
	p.Version = c.o.Version
	if se, ok := r.Context().Value(sessionKey{}).(session); ok {
		p.Session, p.CSRF = &se, se.CSRF
	}
	var b bytes.Buffer
	if err := c.pages[name].Execute(&b, p); err != nil {
		c.o.Logger.Error("console: render page", "page", name, "err", err)
		http.Error(w, "the page could not be drawn; reload it, and if it persists report privaudit's log", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(b.Bytes())
}

// fail answers with an error page saying what went wrong and what to do.
func (c *Console) fail(w http.ResponseWriter, r *http.Request, status int, what, next string) {
	c.render(w, r, status, "error", page{Title: http.StatusText(status), Data: struct{ What, Next string }{what, next}})
}

type signInData struct {
	Message string // a notice, e.g. signed out
	Error   string // why the last attempt failed and what to do
	Token   string // the sign-in form's CSRF token
}

// signInPage shows the sign-in form with a fresh form token in a cookie
// and in the form (double submit: there is no session yet).
func (c *Console) signInPage(w http.ResponseWriter, r *http.Request) {
	c.showSignIn(w, r, http.StatusOK, signInData{Message: signInMessages[r.URL.Query().Get("m")]})
}

func (c *Console) showSignIn(w http.ResponseWriter, r *http.Request, status int, d signInData) {
	d.Token = randomToken()
	c.setCookie(w, r, signInCookie, d.Token, 0)
	c.render(w, r, status, "signin", page{Title: "Sign in", Data: d})
}

// signIn checks the pasted token and opens a session for an officer or
// admin token. Each attempt is recorded; the token itself never is.
func (c *Console) signIn(w http.ResponseWriter, r *http.Request) {
	ck, err := r.Cookie(signInCookie)
	if err != nil || !(session{CSRF: ck.Value}).validCSRF(r.PostFormValue(csrfField)) {
		c.showSignIn(w, r, http.StatusForbidden, signInData{Error: "The sign-in form had expired or was not sent from this page. Paste your token again and press Sign in."})
		return
	}
	c.clearCookie(w, r, signInCookie)
	addr := clientAddr(r)
	if ok, wait, first := c.throttle.allow(addr); !ok {
		if first {
			c.recordRefusal(r.Context(), auth.Identity{}, fmt.Sprintf("%d sign-ins refused from one address within %s; its further attempts are turned away unchecked until the window ends", SignInLimit, SignInWindow))
		}
		secs := int(wait.Round(time.Second) / time.Second)
		w.Header().Set("Retry-After", strconv.Itoa(max(secs, 1)))
		c.showSignIn(w, r, http.StatusTooManyRequests, signInData{Error: fmt.Sprintf("Too many sign-ins were refused from your address in the last minute, so sign-in is paused for it. Wait %d seconds and try again with an officer or admin token (it starts with pa_).", max(secs, 1))})
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	id, err := c.o.Tokens.Authenticate(ctx, strings.TrimSpace(r.PostFormValue("token")))
	var ae *apierr.Error
	switch {
	case err != nil && errors.As(err, &ae) && ae.Code == apierr.Unauthorized:
		c.throttle.refused(addr)
		c.recordRefusal(r.Context(), auth.Identity{}, "unknown or revoked token")
		c.showSignIn(w, r, http.StatusUnauthorized, signInData{Error: "That token is not known or has been revoked. Check that you pasted all of it (it starts with pa_), or ask an admin for an officer token: privaudit token create --role officer --name YOUR-NAME."})
		return
	case err != nil:
		c.o.Logger.Warn("console: sign-in: cannot check the token", "err", err)
		c.showSignIn(w, r, http.StatusServiceUnavailable, signInData{Error: "The token store cannot be reached just now. Wait a minute and try again; if it persists, ask an admin to check privaudit's ClickHouse."})
		return
	case !id.Allows(auth.RoleOfficer):
		c.throttle.refused(addr)
		c.recordRefusal(r.Context(), id, "role "+id.Role+" may not sign in")
		c.showSignIn(w, r, http.StatusForbidden, signInData{Error: "This is an " + id.Role + " token: it can only send records to privaudit and cannot sign in. Sign in with an officer or admin token (privaudit token create --role officer --name YOUR-NAME)."})
		return
	}
	if old, err := r.Cookie(sessionCookie); err == nil {
		c.sessions.end(old.Value) // a new sign-in replaces the browser's old session
	}
	se := c.sessions.open(id)
	if err := c.o.Record(r.Context(), c.event(se, actSignIn, "allowed", "")); err != nil {
		c.sessions.end(se.ID)
		c.o.Logger.Error("console: record sign-in", "err", err)
		c.showSignIn(w, r, http.StatusServiceUnavailable, signInData{Error: "Your sign-in could not be recorded in the audit trail, so it was not accepted. Try again in a minute; if it persists, ask an admin to check privaudit's spool and ClickHouse."})
		return
	}
	c.setCookie(w, r, sessionCookie, se.ID, 0)
	http.Redirect(w, r, Prefix, http.StatusSeeOther)
}

// signOut ends the session here and in the browser.
func (c *Console) signOut(w http.ResponseWriter, r *http.Request) {
	se := sessionFrom(r.Context())
	c.sessions.end(se.ID)
	c.clearCookie(w, r, sessionCookie)
	if err := c.o.Record(r.Context(), c.event(se, actSignOut, "allowed", "")); err != nil {
		c.o.Logger.Error("console: record sign-out", "err", err)
	}
	http.Redirect(w, r, Prefix+"signin?m="+msgSignedOut, http.StatusSeeOther)
}
