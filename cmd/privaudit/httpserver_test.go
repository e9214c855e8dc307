package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

// serveForTest serves h with c's timeouts on a loopback port.
func serveForTest(t *testing.T, c HTTPConfig, h http.Handler) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := newHTTPServer(c, h)
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

// TestHTTPBodyReadIsBounded: a client that sends headers and part of a body,
// then stalls, is cut off at ReadTimeout instead of holding the handler.
func TestHTTPBodyReadIsBounded(t *testing.T) {
	c := DefaultConfig().HTTP
	c.ReadTimeout = 300 * time.Millisecond
	readErr := make(chan error, 1)
	addr := serveForTest(t, c, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, err := io.ReadAll(r.Body)
		readErr <- err
	}))
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	io.WriteString(conn, "POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n0123456789")
	select {
	case err := <-readErr:
		if err == nil {
			t.Fatal("a stalled body read to its end")
		}
	case <-time.After(60 * time.Second):
		t.Fatal("a stalled request body still holds its handler after 60s; ReadTimeout is 300ms")
	}
}

// TestHTTPLongDownloadOutlivesTimeouts: a response streamed for longer than
// ReadTimeout and WriteTimeout together, with a request body, completes and
// its context is not cancelled: the timeouts bound stalls, not downloads.
func TestHTTPLongDownloadOutlivesTimeouts(t *testing.T) {
	c := DefaultConfig().HTTP
	c.ReadTimeout, c.WriteTimeout = 200*time.Millisecond, time.Second
	addr := serveForTest(t, c, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := io.ReadAll(r.Body); err != nil {
			t.Errorf("body: %v", err)
			return
		}
		rc := http.NewResponseController(w)
		for end := time.Now().Add(2500 * time.Millisecond); time.Now().Before(end); {
			select {
			case <-r.Context().Done():
				t.Errorf("the request context ended mid-download: %v", context.Cause(r.Context()))
				return
			case <-time.After(100 * time.Millisecond):
			}
			io.WriteString(w, strings.Repeat("x", 1000)+"\n")
			if err := rc.Flush(); err != nil {
				t.Errorf("flush: %v", err)
				return
			}
		}
		io.WriteString(w, "end\n")
	}))
	resp, err := http.Post("http://"+addr+"/v1/query", "application/json", strings.NewReader(`{"sql": "SELECT 1"}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || !bytes.HasSuffix(b, []byte("end\n")) {
		t.Fatalf("download cut short after %d bytes: %v", len(b), err)
	}
}

// TestListenServerAndPlainHTTPWarning: serve's http.Server carries the
// configured timeouts, and plain HTTP off loopback is warned about, loudly,
// while loopback is not.
func TestListenServerAndPlainHTTPWarning(t *testing.T) {
	for _, tc := range []struct {
		listen string
		warn   bool
	}{{"0.0.0.0:0", true}, {"127.0.0.1:0", false}} {
		var logs bytes.Buffer
		m := &Main{Config: DefaultConfig(), Log: newLogger(&logs, "info")}
		m.Config.Listen = tc.listen
		s := &server{}
		if err := s.listen(m, http.NotFoundHandler()); err != nil {
			t.Fatal(err)
		}
		s.http.Close()
		h := s.http
		if h.ReadHeaderTimeout != 10*time.Second || h.IdleTimeout != 2*time.Minute || h.Handler == nil {
			t.Errorf("%s: http.Server timeouts %v %v", tc.listen, h.ReadHeaderTimeout, h.IdleTimeout)
		}
		line, _ := bufio.NewReader(&logs).ReadString('\n')
		if got := strings.Contains(line, "level=WARN") && strings.Contains(line, "INSECURE: plain HTTP"); got != tc.warn {
			t.Errorf("%s: warning logged %v, want %v: %q", tc.listen, got, tc.warn, logs.String())
		}
	}
}

// TestSecretsNeverPrinted: with PRIVAUDIT_TOKEN set, a mistyped flag or
// -help prints the flag list without the token, which is still used.
func TestSecretsNeverPrinted(t *testing.T) {
	const secret = "pa_secretvalue_0123456789"
	t.Setenv("PRIVAUDIT_TOKEN", secret)
	for _, args := range [][]string{{"serve", "--badflag"}, {"report", "run", "--token"}, {"serve", "--help"}, {"query", "-help"}} {
		var stdout, stderr bytes.Buffer
		err := run(context.Background(), args, &stdout, &stderr)
		help := slices.Contains(args, "--help") || slices.Contains(args, "-help")
		if help != (err == nil) {
			t.Errorf("%v: err %v", args, err)
		}
		all := stdout.String() + stderr.String() + fmt.Sprint(err)
		if strings.Contains(all, "secretvalue") {
			t.Errorf("%v printed the token:\n%s", args, all)
		} else if help && !strings.Contains(stdout.String(), "[PRIVAUDIT_TOKEN]") {
			t.Errorf("%v: no flag list:\n%s", args, all)
		} else if !help && !strings.Contains(all, "--help") {
			t.Errorf("%v: the error does not point at --help:\n%s", args, all)
		}
	}
	m := &Main{Stdout: io.Discard, Stderr: io.Discard}
	if _, err := m.parse("x", nil, nil); err != nil || m.Config.Token != secret {
		t.Errorf("token from the environment: %q, %v", m.Config.Token, err)
	}
	if _, err := m.parse("x", []string{"--token", "pa_other"}, nil); err != nil || m.Config.Token != "pa_other" {
		t.Errorf("token from the flag: %q, %v", m.Config.Token, err)
	}
}
