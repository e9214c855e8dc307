package schedule

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	gosmtp "github.com/emersion/go-smtp"

	"github.com/privaudit/privaudit/audit/ingest/ingesttest"
)

// received is one message an smtpServer accepted.
type received struct {
	from string
	to   []string
	user string // the AUTH PLAIN user, "" without AUTH
	tls  bool   // the session was encrypted when the message came
	data []byte
}

// smtpServer is a real SMTP server (emersion/go-smtp) on loopback that
// keeps what it receives. With a user set, it offers AUTH PLAIN and takes
// mail only from an authenticated session.
type smtpServer struct {
	addr       string
	port       int
	user, pass string
	login      bool
	mu         sync.Mutex
	msgs       []received
	// drop is how many connections are closed at once, before the greeting
	// (a server that is not up yet).
	drop  atomic.Int32
	conns atomic.Int32
}

type smtpOpts struct {
	tls        *tls.Config // nil: no STARTTLS
	implicit   bool        // TLS from the first byte instead of STARTTLS
	login      bool        // offer AUTH LOGIN instead of PLAIN
	user, pass string
	drop       int32
}

func startSMTP(t *testing.T, o smtpOpts) *smtpServer {
	t.Helper()
	srv := &smtpServer{user: o.user, pass: o.pass, login: o.login}
	srv.drop.Store(o.drop)
	s := gosmtp.NewServer(srv)
	s.Domain = "localhost"
	s.ReadTimeout, s.WriteTimeout = time.Minute, time.Minute
	s.AllowInsecureAuth = o.tls == nil || o.implicit
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv.addr, srv.port = l.Addr().String(), l.Addr().(*net.TCPAddr).Port
	if o.implicit {
		l = tls.NewListener(l, o.tls)
	} else {
		s.TLSConfig = o.tls
	}
	go func() { _ = s.Serve(&dropListener{Listener: l, srv: srv}) }()
	t.Cleanup(func() { _ = s.Close() })
	return srv
}

// dropListener closes the first srv.drop connections it accepts.
type dropListener struct {
	net.Listener
	srv *smtpServer
}

func (l *dropListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		l.srv.conns.Add(1)
		if l.srv.drop.Add(-1) >= 0 {
			c.Close()
			continue
		}
		return c, nil
	}
}

func (srv *smtpServer) messages() []received {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	return append([]received(nil), srv.msgs...)
}

func (srv *smtpServer) NewSession(c *gosmtp.Conn) (gosmtp.Session, error) {
	return &recvSession{srv: srv, conn: c}, nil
}

type recvSession struct {
	srv  *smtpServer
	conn *gosmtp.Conn
	user string
	msg  received
}

func (s *recvSession) AuthMechanisms() []string {
	if s.srv.user == "" {
		return nil
	}
	if s.srv.login {
		return []string{sasl.Login}
	}
	return []string{sasl.Plain}
}

func (s *recvSession) Auth(string) (sasl.Server, error) {
	check := func(_, user, pass string) error {
		if user != s.srv.user || pass != s.srv.pass {
			return errors.New("invalid credentials")
		}
		s.user = user
		return nil
	}
	if s.srv.login {
		return &loginServer{check: check}, nil
	}
	return sasl.NewPlainServer(check), nil
}

// loginServer is the server side of AUTH LOGIN (go-sasl has only the
// client's).
type loginServer struct {
	check      func(identity, user, pass string) error
	step       int
	user, pass string
}

func (l *loginServer) Next(resp []byte) ([]byte, bool, error) {
	l.step++
	switch l.step {
	case 1:
		if resp != nil {
			l.user, l.step = string(resp), 2
			return []byte("Password:"), false, nil
		}
		return []byte("Username:"), false, nil
	case 2:
		l.user = string(resp)
		return []byte("Password:"), false, nil
	}
	return nil, true, l.check("", l.user, string(resp))
}

func (s *recvSession) Mail(from string, _ *gosmtp.MailOptions) error {
	if s.srv.user != "" && s.user == "" {
		return &gosmtp.SMTPError{Code: 530, EnhancedCode: gosmtp.EnhancedCode{5, 7, 0}, Message: "authentication required"}
	}
	_, isTLS := s.conn.TLSConnectionState()
	s.msg = received{from: from, user: s.user, tls: isTLS}
	return nil
}

func (s *recvSession) Rcpt(to string, _ *gosmtp.RcptOptions) error {
	s.msg.to = append(s.msg.to, to)
	return nil
}

func (s *recvSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.msg.data = b
	s.srv.mu.Lock()
	s.srv.msgs = append(s.srv.msgs, s.msg)
	s.srv.mu.Unlock()
	return nil
}

func (s *recvSession) Reset()        { s.msg = received{} }
func (s *recvSession) Logout() error { return nil }

// selfSigned makes a certificate for 127.0.0.1 and localhost, and writes it
// as PEM to a file for ca_file.
func selfSigned(t *testing.T) (*tls.Config, string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "privaudit test SMTP"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, DNSNames: []string{"localhost"},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}, path
}

// sleeper replaces the wait between delivery tries: it records each wait
// and returns at once; stop, if set, makes the n-th wait (from 1) report
// that privaudit stops.
type sleeper struct {
	mu    sync.Mutex
	waits []time.Duration
	stop  int
}

func (s *sleeper) sleep(_ context.Context, d time.Duration) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.waits = append(s.waits, d)
	return s.stop == 0 || len(s.waits) != s.stop
}

func (s *sleeper) recorded() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.waits...)
}

// newDeliveryScheduler is a started scheduler for cfgs whose delivery
// waits go to sl; run nil renders real reports.
func newDeliveryScheduler(t *testing.T, env *ingesttest.Env, cfgs []Config, run RunFunc, sl *sleeper, publicURL string) *Scheduler {
	t.Helper()
	s, err := New(Options{Runner: newRunner(t, env, nil), Conn: env.Conn, Schema: env.Schema, Schedules: cfgs,
		OutputRoot: t.TempDir(), Logger: (&logBuffer{}).logger(), Instance: "test", run: run,
		deliverySleep: sl.sleep, PublicURL: publicURL})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = s.Stop(ctx)
	})
	waitFor(t, "the start's recovery", func() bool {
		return !slices.ContainsFunc(s.List(), func(st Status) bool { return st.CatchingUp })
	})
	return s
}

// deliveredRun waits until every delivery of run id has ended (delivered
// or failed) and returns the run's successful attempt.
func deliveredRun(t *testing.T, s *Scheduler, id string, targets int) Run {
	t.Helper()
	var out Run
	deadline := time.Now().Add(60 * time.Second)
	for {
		runs, err := s.Runs(context.Background(), RunFilter{RunID: id})
		if err != nil {
			t.Fatal(err)
		}
		done := 0
		for _, r := range runs {
			if r.Status != StatusSuccess {
				continue
			}
			out = r
			for _, d := range r.Deliveries {
				if d.Status == DeliveryDelivered || d.Status == DeliveryFailed {
					done++
				}
			}
		}
		if done == targets {
			return out
		}
		if time.Now().After(deadline) {
			t.Fatalf("run %s: deliveries not finished after 60s: %+v", id, out.Deliveries)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// outcomes lists a delivery's tries as "attempt:outcome".
func outcomes(d Delivery) []string {
	var out []string
	for _, a := range d.Attempts {
		out = append(out, strconv.Itoa(a.Attempt)+":"+a.Outcome)
	}
	return out
}
