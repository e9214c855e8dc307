package console

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/privaudit/privaudit/audit/apierr"
	"github.com/privaudit/privaudit/audit/auth"
)

// Cookie names. The session cookie carries the session id; the sign-in
// cookie carries the CSRF token of the sign-in form, before any session.
const (
	sessionCookie = "privaudit_session"
	signInCookie  = "privaudit_signin"
	csrfField     = "csrf"
)

// csp allows the console's own CSS and images and nothing inline: no script
// at all, no framing, forms only to the console itself.
const csp = "default-src 'self'; img-src 'self'; object-src 'none'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"

// maxFormBytes bounds a console form's body.
const maxFormBytes = 64 << 10

// secure sets the security headers on every console response and refuses a
// state-changing request that a browser marks as coming from another site.
func (c *Console) secure(h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Content-Security-Policy", csp)
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("Referrer-Policy", "no-referrer")
		hd.Set("X-Frame-Options", "DENY")
		hd.Set("Cross-Origin-Opener-Policy", "same-origin")
		hd.Set("Cache-Control", "no-store")
		if r.TLS != nil {
			hd.Set("Strict-Transport-Security", "max-age=31536000")
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
		}
		c.origin.Handler(h).ServeHTTP(w, r)
	})
}

type sessionKey struct{}

// withSession runs h for a live session whose token is still valid, with
// the session in the request's context; a state-changing request must also
// carry the session's CSRF token. Without a session a page leads to the
// sign-in and a form post is refused.
func (c *Console) withSession(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		se, ok := c.currentSession(w, r)
		if !ok {
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead && !se.validCSRF(r.PostFormValue(csrfField)) {
			c.o.Logger.Warn("console: form without its CSRF token refused", "path", r.URL.Path, "actor", se.Identity.Name)
			c.fail(w, r, http.StatusForbidden, "This form could not be verified as sent from your console page, so nothing was done.",
				"Go back, reload the page and send the form again.")
			return
		}
		h(w, r.WithContext(context.WithValue(r.Context(), sessionKey{}, se)))
	}
}

// currentSession returns the request's session or answers the request
// itself: a redirect to the sign-in, or an error page.
func (c *Console) currentSession(w http.ResponseWriter, r *http.Request) (session, bool) {
	ck, err := r.Cookie(sessionCookie)
	if err != nil {
		c.toSignIn(w, r, "")
		return session{}, false
	}
	se, ok := c.sessions.get(ck.Value)
	if !ok {
		c.clearCookie(w, r, sessionCookie)
		c.toSignIn(w, r, msgExpired)
		return session{}, false
	}
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	id, err := c.o.Tokens.Active(ctx, se.Identity.TokenID)
	var ae *apierr.Error
	switch {
	case err == nil && id.Allows(auth.RoleOfficer):
		return se, true
	case err == nil || errors.As(err, &ae) && ae.Code == apierr.Unauthorized:
		c.sessions.end(se.ID)
		c.clearCookie(w, r, sessionCookie)
		c.toSignIn(w, r, msgRevoked)
	default:
		c.o.Logger.Warn("console: cannot check the session's token", "err", err)
		c.fail(w, r, http.StatusServiceUnavailable, "The token store cannot be reached just now, so your session could not be checked.",
			"Wait a minute and reload the page; if it persists, ask an admin to check privaudit's ClickHouse.")
	}
	return session{}, false
}

// toSignIn leads a page request to the sign-in page with the message code
// msg; a form post without a session is refused outright.
func (c *Console) toSignIn(w http.ResponseWriter, r *http.Request, msg string) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		c.fail(w, r, http.StatusForbidden, "You are not signed in (or your session has ended), so nothing was done.",
			"Sign in again, then repeat what you were doing.")
		return
	}
	u := Prefix + "signin"
	if msg != "" {
		u += "?m=" + msg
	}
	http.Redirect(w, r, u, http.StatusSeeOther)
}

func sessionFrom(ctx context.Context) session {
	se, _ := ctx.Value(sessionKey{}).(session)
	return se
}

// setCookie sets a console cookie: HttpOnly, SameSite=Strict, Path=/,
// Secure when the request came over TLS; maxAge 0 makes it end with the
// browser.
func (c *Console) setCookie(w http.ResponseWriter, r *http.Request, name, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: value, Path: "/", MaxAge: maxAge,
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil})
}

func (c *Console) clearCookie(w http.ResponseWriter, r *http.Request, name string) {
	c.setCookie(w, r, name, "", -1)
}
