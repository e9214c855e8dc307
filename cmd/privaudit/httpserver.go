package main

import (
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// newHTTPServer returns the server for h with c's timeouts. The server sets
// only the header and idle timeouts itself: net/http's whole-request
// ReadTimeout and WriteTimeout would cut long report downloads (a read
// deadline passing during a response even cancels the request's context).
// Instead withDeadlines bounds each request body and each response write.
func newHTTPServer(c HTTPConfig, h http.Handler) *http.Server {
	return &http.Server{Handler: withDeadlines(c, h), ReadHeaderTimeout: c.ReadHeaderTimeout, IdleTimeout: c.IdleTimeout}
}

// withDeadlines wraps h so that a request body must arrive within
// c.ReadTimeout (the read deadline is lifted at its end, so a long response
// keeps its context) and every write of the response must make progress
// within c.WriteTimeout, however long the whole download takes.
func withDeadlines(c HTTPConfig, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc := http.NewResponseController(w)
		if r.Body != nil && r.Body != http.NoBody && r.ContentLength != 0 {
			_ = rc.SetReadDeadline(time.Now().Add(c.ReadTimeout))
			r.Body = &deadlineBody{ReadCloser: r.Body, rc: rc}
		}
		pw := &writeDeadliner{ResponseWriter: w, rc: rc, timeout: c.WriteTimeout}
		h.ServeHTTP(pw, r)
		pw.extend() // for what net/http flushes after the handler returns
	})
}

// deadlineBody lifts the read deadline once the body has been read to its end.
type deadlineBody struct {
	io.ReadCloser
	rc     *http.ResponseController
	lifted bool
}

func (b *deadlineBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err == io.EOF && !b.lifted {
		b.lifted = true
		_ = b.rc.SetReadDeadline(time.Time{})
	}
	return n, err
}

// writeDeadliner moves the write deadline to WriteTimeout ahead before a
// write when less than three quarters of it is left.
type writeDeadliner struct {
	http.ResponseWriter
	rc      *http.ResponseController
	timeout time.Duration
	until   time.Time
}

func (p *writeDeadliner) extend() {
	if now := time.Now(); p.until.Sub(now) < p.timeout*3/4 {
		p.until = now.Add(p.timeout)
		_ = p.rc.SetWriteDeadline(p.until)
	}
}

func (p *writeDeadliner) Write(b []byte) (int, error) {
	p.extend()
	return p.ResponseWriter.Write(b)
}

// FlushError flushes through to the client (http.ResponseController.Flush).
func (p *writeDeadliner) FlushError() error {
	p.extend()
	return p.rc.Flush()
}

// Unwrap lets http.ResponseController reach the connection's writer.
func (p *writeDeadliner) Unwrap() http.ResponseWriter { return p.ResponseWriter }

// warnPlainHTTP warns loudly when the server speaks plain HTTP on an address
// other machines can reach.
func warnPlainHTTP(log *slog.Logger, addr net.Addr, scheme string) {
	if ta, ok := addr.(*net.TCPAddr); scheme != "http" || ok && ta.IP.IsLoopback() {
		return
	}
	log.Warn("INSECURE: plain HTTP on a non-loopback address: bearer tokens, personal data and reports "+
		"cross the network unencrypted; set tls_cert and tls_key (PRIVAUDIT_TLS_CERT, PRIVAUDIT_TLS_KEY), "+
		"or listen on 127.0.0.1 behind a TLS proxy", "listen", addr.String())
}
