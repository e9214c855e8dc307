package schedule

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"maps"
	"mime"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/privaudit/privaudit/audit/ingest/ingesttest"
)

// TestDelivery delivers scheduled runs to a real SMTP server
// (emersion/go-smtp on loopback) and to webhooks (httptest), over one
// managed ClickHouse that records the runs and their deliveries.
func TestDelivery(t *testing.T) {
	env := ingesttest.Start(t, ingesttest.Options{})
	ingestGolden(t, env)
	t.Run("EmailAndWebhook", func(t *testing.T) { testEmailAndWebhook(t, env) })
	t.Run("ImplicitTLSLogin", func(t *testing.T) { testImplicitTLSLogin(t, env) })
	t.Run("UntrustedCertificate", func(t *testing.T) { testUntrustedCertificate(t, env) })
	t.Run("LinksPastAttachLimit", func(t *testing.T) { testLinksPastAttachLimit(t, env) })
	t.Run("RefusedThenAccepted", func(t *testing.T) { testRefusedThenAccepted(t, env) })
	t.Run("DownForGood", func(t *testing.T) { testDownForGood(t, env) })
	t.Run("WebhookRetries", func(t *testing.T) { testWebhookRetries(t, env) })
	t.Run("WebhookNoRetryStorm", func(t *testing.T) { testWebhookNoRetryStorm(t, env) })
	t.Run("ResumedAfterRestart", func(t *testing.T) { testResumedAfterRestart(t, env) })
	t.Run("UnrecordedRunClosed", func(t *testing.T) { testUnrecordedRunClosed(t, env) })
}

func secretFile(t *testing.T, secret string) string {
	p := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(p, []byte(secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// testEmailAndWebhook: a real report run is e-mailed over STARTTLS with
// AUTH PLAIN, its files attached and byte-equal to the run's, and posted
// to a webhook whose signature verifies.
func testEmailAndWebhook(t *testing.T, env *ingesttest.Env) {
	tlsCfg, caFile := selfSigned(t)
	smtpSrv := startSMTP(t, smtpOpts{tls: tlsCfg, user: "privaudit", pass: "s3cret pass"})
	hook := newWebhookReceiver(t, "hook-key", func(int) (int, string) { return http.StatusNoContent, "" })
	c := cfg("mail-and-hook")
	c.Period, c.From, c.To = Explicit, "2026-10-01", "2026-11-01"
	c.Formats = []string{"xlsx", "csv"}
	c.Deliver = []Target{
		{Name: "officers", Type: TargetEmail, Host: "127.0.0.1", Port: smtpSrv.port, TLS: TLSStartTLS, CAFile: caFile,
			Username: "privaudit", PasswordFile: secretFile(t, "s3cret pass"),
			From: "privaudit <privaudit@bank.example>", To: []string{"dpo@bank.example", "officer@bank.example"}},
		{Name: "siem", Type: TargetWebhook, URL: hook.URL + "/privaudit", SecretFile: secretFile(t, "hook-key")},
	}
	s := newDeliveryScheduler(t, env, []Config{c}, nil, &sleeper{}, "")
	run, err := s.RunNow(context.Background(), c.Name)
	if err != nil {
		t.Fatal(err)
	}
	got := deliveredRun(t, s, run.ID, 2)
	if got.Status != StatusSuccess || got.Rows != 31 || len(got.Files) != 2 {
		t.Fatalf("run: %+v", got)
	}
	for _, d := range got.Deliveries {
		if d.Status != DeliveryDelivered || !slices.Equal(outcomes(d), []string{"0:pending", "1:delivered"}) {
			t.Errorf("delivery %s: %s %v", d.Target, d.Status, outcomes(d))
		}
	}
	msgs := smtpSrv.messages()
	if len(msgs) != 1 {
		t.Fatalf("%d messages received, want 1", len(msgs))
	}
	m := msgs[0]
	if m.user != "privaudit" || !m.tls || m.from != "privaudit@bank.example" || len(m.to) != 2 {
		t.Errorf("envelope: user %q tls %v from %q to %v", m.user, m.tls, m.from, m.to)
	}
	subject, text, atts := readMessage(t, m.data)
	if !strings.Contains(subject, "disclosures report") || !strings.Contains(subject, "2026-10-01 to 2026-11-01") {
		t.Errorf("subject %q", subject)
	}
	if !strings.Contains(text, "Rows:     31") {
		t.Errorf("body lacks the rows:\n%s", text)
	}
	if len(atts) != 2 {
		t.Fatalf("%d attachments, want 2", len(atts))
	}
	for i, f := range got.Files {
		onDisk, err := os.ReadFile(f.Path)
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(atts[f.Name])
		if !bytes.Equal(atts[f.Name], onDisk) || hex.EncodeToString(sum[:]) != f.SHA256 {
			t.Errorf("attachment %d %s: %d bytes, sha256 %x; the run recorded %d bytes, %s", i, f.Name, len(atts[f.Name]), sum, f.Size, f.SHA256)
		}
		if !strings.Contains(text, f.SHA256) {
			t.Errorf("body lacks the SHA-256 of %s", f.Name)
		}
	}
	n, bad := hook.count()
	if n != 1 || bad != 0 {
		t.Fatalf("webhook: %d requests, %d with a bad signature", n, bad)
	}
	var p WebhookPayload
	if err := json.Unmarshal(hook.bodies[0], &p); err != nil {
		t.Fatal(err)
	}
	if p.Event != WebhookEvent || p.Run.ID != run.ID || len(p.Run.Files) != 2 || p.Run.Files[0].SHA256 != got.Files[0].SHA256 {
		t.Errorf("webhook payload: %+v", p)
	}
	if h := hook.hdrs[0].Get(HeaderWebhookDelivery); h != run.ID+"/siem" {
		t.Errorf("%s: %q", HeaderWebhookDelivery, h)
	}
	if v := testutil.ToFloat64(s.deliveries.WithLabelValues(TargetEmail, DeliveryDelivered)); v != 1 {
		t.Errorf("privaudit_delivery_attempts_total{email,delivered} = %v", v)
	}
	checkRunAPI(t, s, run.ID)
}

// checkRunAPI checks that GET /v1/runs/{id} shows the deliveries.
func checkRunAPI(t *testing.T, s *Scheduler, id string) {
	t.Helper()
	mux := http.NewServeMux()
	s.Routes(mux, func(h http.Handler) http.Handler { return h })
	srv := httptest.NewServer(mux)
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/v1/runs/" + id)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var rr RunsResponse
	if err := json.NewDecoder(resp.Body).Decode(&rr); err != nil {
		t.Fatal(err)
	}
	if len(rr.Runs) != 1 || len(rr.Runs[0].Deliveries) != 2 || rr.Runs[0].Deliveries[0].Status != DeliveryDelivered {
		t.Errorf("GET /v1/runs/%s: %+v", id, rr.Runs)
	}
}

// readMessage parses an e-mail: its decoded subject, its text part and
// its attachments by file name, base64-decoded.
func readMessage(t *testing.T, data []byte) (string, string, map[string][]byte) {
	t.Helper()
	msg, err := mail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	subject, err := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	if err != nil {
		t.Fatal(err)
	}
	mt, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/mixed" {
		t.Fatalf("content type %q: %v", mt, err)
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	var text string
	atts := map[string][]byte{}
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(p) // quoted-printable is decoded by NextPart
		if err != nil {
			t.Fatal(err)
		}
		if p.FileName() == "" {
			text = string(b)
			continue
		}
		dec, err := base64.StdEncoding.DecodeString(strings.NewReplacer("\r", "", "\n", "").Replace(string(b)))
		if err != nil {
			t.Fatalf("attachment %s: %v", p.FileName(), err)
		}
		atts[p.FileName()] = dec
	}
	return subject, text, atts
}

// testLinksPastAttachLimit: files past the attach limit are linked under
// the public URL; a server without TLS is used on loopback.
func testLinksPastAttachLimit(t *testing.T, env *ingesttest.Env) {
	smtpSrv := startSMTP(t, smtpOpts{})
	fake := &fakeRun{}
	c := cfg("mail-links")
	c.Formats = []string{"csv", "json"}
	// fakeRun writes the same body for each format: the limit fits one.
	size := int64(len("disclosures 2026-11-02T00:00:00Z 2026-11-03T00:00:00Z\n"))
	c.Deliver = []Target{{Type: TargetEmail, Host: "127.0.0.1", Port: smtpSrv.port, TLS: TLSNone, AttachLimit: size,
		From: "privaudit@bank.example", To: []string{"dpo@bank.example"}}}
	s := newDeliveryScheduler(t, env, []Config{c}, fake.run, &sleeper{}, "https://privaudit.bank.example/")
	run, err := s.RunNow(context.Background(), c.Name)
	if err != nil {
		t.Fatal(err)
	}
	got := deliveredRun(t, s, run.ID, 1)
	if d := got.Deliveries[0]; d.Target != "email-1" || d.Status != DeliveryDelivered || !strings.Contains(d.Attempts[1].Detail, "1 of 2 files attached") {
		t.Fatalf("delivery: %+v", d)
	}
	if got.Files[0].Size != size {
		t.Fatalf("file size %d, the test expects %d", got.Files[0].Size, size)
	}
	_, text, atts := readMessage(t, smtpSrv.messages()[0].data)
	linked := got.Files[1]
	if len(atts) != 1 || atts[got.Files[0].Name] == nil {
		t.Errorf("attachments %v, want only %s", slices.Collect(maps.Keys(atts)), got.Files[0].Name)
	}
	want := "https://privaudit.bank.example/v1/runs/" + run.ID + "/files/" + linked.Name
	if !strings.Contains(text, want) || !strings.Contains(text, linked.SHA256) {
		t.Errorf("body lacks the link %s and the SHA-256 of %s:\n%s", want, linked.Name, text)
	}
}

// testRefusedThenAccepted: a server that drops the first two connections
// gets the message at the third try; every try is recorded and counted.
func testRefusedThenAccepted(t *testing.T, env *ingesttest.Env) {
	smtpSrv := startSMTP(t, smtpOpts{drop: 2})
	c := cfg("mail-retry")
	c.Deliver = []Target{{Type: TargetEmail, Host: "localhost", Port: smtpSrv.port, TLS: TLSNone,
		From: "privaudit@bank.example", To: []string{"dpo@bank.example"}}}
	sl := &sleeper{}
	s := newDeliveryScheduler(t, env, []Config{c}, (&fakeRun{}).run, sl, "")
	run, err := s.RunNow(context.Background(), c.Name)
	if err != nil {
		t.Fatal(err)
	}
	got := deliveredRun(t, s, run.ID, 1)
	d := got.Deliveries[0]
	if want := []string{"0:pending", "1:retry", "2:retry", "3:delivered"}; !slices.Equal(outcomes(d), want) {
		t.Fatalf("tries %v, want %v (%+v)", outcomes(d), want, d)
	}
	if d.Attempts[1].Error == "" || len(smtpSrv.messages()) != 1 || smtpSrv.conns.Load() != 3 {
		t.Errorf("error %q, %d messages, %d connections", d.Attempts[1].Error, len(smtpSrv.messages()), smtpSrv.conns.Load())
	}
	if n := len(sl.recorded()); n != 2 {
		t.Errorf("%d waits, want 2", n)
	}
	if v := testutil.ToFloat64(s.deliveries.WithLabelValues(TargetEmail, DeliveryRetry)); v != 2 {
		t.Errorf("privaudit_delivery_attempts_total{email,retry} = %v", v)
	}
}

// testDownForGood: a server that is down is tried max_attempts times,
// with growing waits, recorded failed; the run stays succeeded.
func testDownForGood(t *testing.T, env *ingesttest.Env) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close() // nothing listens there: every connection is refused
	c := cfg("mail-down")
	c.Deliver = []Target{{Type: TargetEmail, Host: "127.0.0.1", Port: port, TLS: TLSNone,
		From: "privaudit@bank.example", To: []string{"dpo@bank.example"}}}
	sl := &sleeper{}
	s := newDeliveryScheduler(t, env, []Config{c}, (&fakeRun{}).run, sl, "")
	run, err := s.RunNow(context.Background(), c.Name)
	if err != nil {
		t.Fatal(err)
	}
	got := deliveredRun(t, s, run.ID, 1)
	d := got.Deliveries[0]
	want := []string{"0:pending", "1:retry", "2:retry", "3:retry", "4:retry", "5:failed"}
	if !slices.Equal(outcomes(d), want) || !strings.Contains(d.Attempts[5].Error, "connect") {
		t.Fatalf("tries %v, want %v; last error %q", outcomes(d), want, d.Attempts[len(d.Attempts)-1].Error)
	}
	runs := runsOf(t, s, c.Name)
	if len(runs) != 1 || runs[0].Status != StatusSuccess {
		t.Errorf("run history %s: the failed delivery must leave the run succeeded", statuses(runs))
	}
	waits := sl.recorded()
	if len(waits) != 4 {
		t.Fatalf("waits %v, want 4", waits)
	}
	for k, w := range waits {
		full := DefaultDeliveryBackoff << k
		if w < full/2 || w > full {
			t.Errorf("wait %d: %s, want within [%s, %s]", k+1, w, full/2, full)
		}
	}
}

// testResumedAfterRestart: a delivery privaudit stopped during (after a
// failed try, before the next) is recorded abandoned and delivered by the
// next start of the same instance, from its next attempt.
func testResumedAfterRestart(t *testing.T, env *ingesttest.Env) {
	hook := newWebhookReceiver(t, "k", func(n int) (int, string) {
		if n == 1 {
			return http.StatusServiceUnavailable, ""
		}
		return http.StatusOK, ""
	})
	c := cfg("hook-resume")
	c.Deliver = []Target{{Name: "siem", Type: TargetWebhook, URL: hook.URL, SecretFile: secretFile(t, "k")}}
	first := newDeliveryScheduler(t, env, []Config{c}, (&fakeRun{}).run, &sleeper{stop: 1}, "")
	run, err := first.RunNow(context.Background(), c.Name)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the abandoned try", func() bool {
		runs, err := first.Runs(context.Background(), RunFilter{RunID: run.ID})
		return err == nil && len(runs) == 1 && len(runs[0].Deliveries) == 1 && runs[0].Deliveries[0].Status == DeliveryAbandoned
	})
	if err := first.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	second := newDeliveryScheduler(t, env, []Config{c}, (&fakeRun{}).run, &sleeper{}, "")
	d := deliveredRun(t, second, run.ID, 1).Deliveries[0]
	if want := []string{"0:pending", "1:abandoned", "2:delivered"}; !slices.Equal(outcomes(d), want) {
		t.Fatalf("tries %v, want %v", outcomes(d), want)
	}
	if n, bad := hook.count(); n != 2 || bad != 0 || hook.hdrs[1].Get(HeaderWebhookAttempt) != "2" {
		t.Errorf("%d requests (%d badly signed), the second's attempt %q", n, bad, hook.hdrs[1].Get(HeaderWebhookAttempt))
	}
}

// testImplicitTLSLogin: implicit TLS (port 465 style) with AUTH LOGIN, the
// password from an environment variable.
func testImplicitTLSLogin(t *testing.T, env *ingesttest.Env) {
	tlsCfg, caFile := selfSigned(t)
	smtpSrv := startSMTP(t, smtpOpts{tls: tlsCfg, implicit: true, login: true, user: "robot", pass: "pa55"})
	t.Setenv("PRIVAUDIT_TEST_SMTP_PASSWORD", "pa55")
	c := cfg("mail-implicit")
	c.Deliver = []Target{{Type: TargetEmail, Host: "localhost", Port: smtpSrv.port, TLS: TLSImplicit, CAFile: caFile,
		Auth: "login", Username: "robot", PasswordEnv: "PRIVAUDIT_TEST_SMTP_PASSWORD",
		From: "privaudit@bank.example", To: []string{"dpo@bank.example"}}}
	s := newDeliveryScheduler(t, env, []Config{c}, (&fakeRun{}).run, &sleeper{}, "")
	run, err := s.RunNow(context.Background(), c.Name)
	if err != nil {
		t.Fatal(err)
	}
	d := deliveredRun(t, s, run.ID, 1).Deliveries[0]
	msgs := smtpSrv.messages()
	if d.Status != DeliveryDelivered || len(msgs) != 1 || msgs[0].user != "robot" || !msgs[0].tls {
		t.Fatalf("delivery %+v; %d messages %+v", d, len(msgs), msgs)
	}
}

// testUntrustedCertificate: a server whose certificate the client does not
// trust is a configuration fault: failed at the first try, not retried.
func testUntrustedCertificate(t *testing.T, env *ingesttest.Env) {
	tlsCfg, _ := selfSigned(t)
	_, otherCA := selfSigned(t)
	smtpSrv := startSMTP(t, smtpOpts{tls: tlsCfg})
	c := cfg("mail-untrusted")
	c.Deliver = []Target{{Type: TargetEmail, Host: "127.0.0.1", Port: smtpSrv.port, CAFile: otherCA,
		From: "privaudit@bank.example", To: []string{"dpo@bank.example"}}}
	s := newDeliveryScheduler(t, env, []Config{c}, (&fakeRun{}).run, &sleeper{}, "")
	run, err := s.RunNow(context.Background(), c.Name)
	if err != nil {
		t.Fatal(err)
	}
	d := deliveredRun(t, s, run.ID, 1).Deliveries[0]
	if !slices.Equal(outcomes(d), []string{"0:pending", "1:failed"}) || !strings.Contains(d.Attempts[1].Error, "ca_file") {
		t.Fatalf("tries %v, error %q", outcomes(d), d.Attempts[len(d.Attempts)-1].Error)
	}
	if len(smtpSrv.messages()) != 0 {
		t.Error("a message went to an untrusted server")
	}
}

// testUnrecordedRunClosed: privaudit died after queuing a run's delivery
// and before recording the run's success; the next start records the
// delivery failed (the fire runs again as a new run) and sends nothing.
func testUnrecordedRunClosed(t *testing.T, env *ingesttest.Env) {
	hook := newWebhookReceiver(t, "k", func(int) (int, string) { return http.StatusOK, "" })
	c := cfg("hook-unrecorded")
	c.Deliver = []Target{{Name: "siem", Type: TargetWebhook, URL: hook.URL, SecretFile: secretFile(t, "k")}}
	first := newDeliveryScheduler(t, env, []Config{c}, (&fakeRun{}).run, &sleeper{}, "")
	j := first.byName[c.Name]
	r := first.newRun(j, TriggerSchedule, time.Date(2026, 11, 3, 2, 0, 0, 0, time.UTC), "")
	first.markPending(j, r) // the process dies here
	if err := first.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	second := newDeliveryScheduler(t, env, []Config{c}, (&fakeRun{}).run, &sleeper{}, "")
	var d Delivery
	waitFor(t, "the delivery closed", func() bool {
		ds, err := second.st.deliveries(context.Background(), []string{r.ID})
		if err != nil || len(ds[r.ID]) != 1 {
			return false
		}
		d = ds[r.ID][0]
		return d.Status == DeliveryFailed
	})
	if !slices.Equal(outcomes(d), []string{"0:pending", "1:failed"}) || !strings.Contains(d.Attempts[1].Error, "before it recorded the run's success") {
		t.Errorf("tries %v: %+v", outcomes(d), d)
	}
	if n, _ := hook.count(); n != 0 {
		t.Errorf("%d webhook requests for a run that did not succeed", n)
	}
}
