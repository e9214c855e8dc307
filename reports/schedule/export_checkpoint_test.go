package schedule

import (
	"bytes"
	"context"
	"encoding/base64"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"golang.org/x/mod/sumdb/note"

	"github.com/privaudit/privaudit/audit"
	"github.com/privaudit/privaudit/audit/ingest"
	"github.com/privaudit/privaudit/audit/ingest/ingesttest"
)

// noteServer is a real HTTP server on loopback that keeps the checkpoints
// POSTed to it; fail, if set, answers a request instead (by its number,
// from 1) when it returns a status.
type noteServer struct {
	*httptest.Server
	mu    sync.Mutex
	notes [][]byte
	sizes []string
	types []string
	n     atomic.Int32
	fail  func(n int32) int
}

func startNoteServer(t *testing.T, fail func(n int32) int) *noteServer {
	t.Helper()
	s := &noteServer{fail: fail}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := s.n.Add(1)
		if s.fail != nil {
			if code := s.fail(n); code != 0 {
				w.WriteHeader(code)
				return
			}
		}
		b, err := io.ReadAll(r.Body)
		if err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		s.mu.Lock()
		s.notes = append(s.notes, b)
		s.sizes = append(s.sizes, r.Header.Get(HeaderCheckpointSize))
		s.types = append(s.types, r.Header.Get("Content-Type"))
		s.mu.Unlock()
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *noteServer) received() [][]byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([][]byte(nil), s.notes...)
}

// checkpointSetup starts an intake with the golden data stored and a
// checkpointer whose checkpoints go to exp; it returns the checkpointer
// and the verifier key.
func checkpointSetup(t *testing.T, env *ingesttest.Env, export func(context.Context, uint64, []byte)) (*ingest.Checkpointer, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "proof.key")
	vkey, err := audit.CreateProofKey(path, "privaudit.test/export")
	if err != nil {
		t.Fatal(err)
	}
	key, err := audit.LoadProofKey(path)
	if err != nil {
		t.Fatal(err)
	}
	ingestGolden(t, env)
	cp, err := ingest.NewCheckpointer(ingest.CheckpointOptions{Log: env.Ingestor.ProofLog(), Key: key, Conn: env.Conn,
		Schema: env.Schema, Export: export})
	if err != nil {
		t.Fatal(err)
	}
	return cp, vkey
}

// openNote checks signed with vkey and returns the tree size it signs.
func openNote(t *testing.T, signed []byte, vkey string) uint64 {
	t.Helper()
	v, err := note.NewVerifier(vkey)
	if err != nil {
		t.Fatal(err)
	}
	n, err := note.Open(signed, note.VerifierList(v))
	if err != nil {
		t.Fatalf("the exported checkpoint does not verify with the key: %v\n%s", err, signed)
	}
	size, err := strconv.ParseUint(strings.Split(n.Text, "\n")[1], 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return size
}

// eventually polls cond for up to a minute (a loaded CI machine).
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// attachment returns the content of the attachment named name of msg.
func attachment(t *testing.T, msg []byte, name string) []byte {
	t.Helper()
	m, err := mail.ReadMessage(bytes.NewReader(msg))
	if err != nil {
		t.Fatal(err)
	}
	_, params, err := mime.ParseMediaType(m.Header.Get("Content-Type"))
	if err != nil {
		t.Fatal(err)
	}
	mr := multipart.NewReader(m.Body, params["boundary"])
	for {
		p, err := mr.NextPart()
		if err != nil {
			t.Fatalf("no attachment %s in the message: %v", name, err)
		}
		if p.FileName() != name {
			continue
		}
		b, err := io.ReadAll(base64.NewDecoder(base64.StdEncoding, p))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
}

// TestCheckpointExport: each checkpoint signed is POSTed to the export
// webhook (a real HTTP server on loopback) and mailed to a schedule's
// e-mail target (a real SMTP server on loopback) as the exact signed note,
// which verifies with the proof key.
func TestCheckpointExport(t *testing.T) {
	env := ingesttest.Start(t, ingesttest.Options{})
	web := startNoteServer(t, nil)
	smtp := startSMTP(t, smtpOpts{})
	daily := cfg("daily")
	daily.Deliver = []Target{{Name: "compliance-mail", Type: TargetEmail, Host: "127.0.0.1", Port: smtp.port, TLS: TLSNone,
		From: "privaudit@bank.example", To: []string{"audit@bank.example"}}}
	ctx, cancel := context.WithCancel(context.Background())
	reg := prometheus.NewRegistry()
	exp, err := NewCheckpointExporter(ctx, CheckpointExportOptions{Webhook: web.URL + "/checkpoints", Deliveries: []string{"compliance-mail"},
		Schedules: []Config{daily}, Backoff: 10 * time.Millisecond, Registerer: reg, Logger: env.Log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); exp.Wait() })
	cp, vkey := checkpointSetup(t, env, exp.Export)
	signed, err := cp.Checkpoint(ctx)
	if err != nil || signed == nil {
		t.Fatalf("checkpoint: %v", err)
	}
	size := openNote(t, signed, vkey)

	eventually(t, "the webhook to receive the checkpoint", func() bool { return len(web.received()) == 1 })
	if got := web.received()[0]; !bytes.Equal(got, signed) || openNote(t, got, vkey) != size {
		t.Errorf("webhook received %q, want the signed note %q", got, signed)
	}
	if web.sizes[0] != strconv.FormatUint(size, 10) || !strings.HasPrefix(web.types[0], "text/plain") {
		t.Errorf("webhook headers: size %q, content type %q; want %d, text/plain", web.sizes[0], web.types[0], size)
	}

	eventually(t, "the mail target to receive the checkpoint", func() bool { return len(smtp.messages()) == 1 })
	m := smtp.messages()[0]
	got := attachment(t, m.data, "checkpoint-"+strconv.FormatUint(size, 10)+".txt")
	if !bytes.Equal(got, signed) || openNote(t, got, vkey) != size || m.to[0] != "audit@bank.example" {
		t.Errorf("mail to %v attached %q, want the signed note %q", m.to, got, signed)
	}
	if n := testutil.ToFloat64(exp.failures.WithLabelValues(ExportWebhookTarget)); n != 0 {
		t.Errorf("%v export failures counted, want none", n)
	}
}

// TestCheckpointExportRetries: a webhook that hangs, then fails, does not
// hold checkpoints back: a second checkpoint is signed and stored while
// the first is still being sent; each failed try is counted, and both
// checkpoints arrive once the webhook answers.
func TestCheckpointExportRetries(t *testing.T) {
	env := ingesttest.Start(t, ingesttest.Options{})
	release := make(chan struct{})
	var heldOut atomic.Bool // the first try was held until its time ran out: something waited for it
	web := startNoteServer(t, func(n int32) int {
		switch n {
		case 1:
			select {
			case <-release:
			case <-time.After(2 * time.Minute):
				heldOut.Store(true)
			}
			return http.StatusServiceUnavailable
		case 2:
			return http.StatusBadGateway
		}
		return 0
	})
	ctx, cancel := context.WithCancel(context.Background())
	exp, err := NewCheckpointExporter(ctx, CheckpointExportOptions{Webhook: web.URL, Backoff: 10 * time.Millisecond, Logger: env.Log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); exp.Wait() })
	cp, vkey := checkpointSetup(t, env, exp.Export)
	first, err := cp.Checkpoint(ctx)
	if err != nil || first == nil {
		t.Fatalf("first checkpoint: %v", err)
	}
	eventually(t, "the webhook to hold the first try", func() bool { return web.n.Load() >= 1 })

	late, err := os.ReadFile(filepath.Join("..", "testdata", "consents_late.ndjson"))
	if err != nil {
		t.Fatal(err)
	}
	env.Ingest(t, audit.KindConsents, string(late))
	second, err := cp.Checkpoint(ctx)
	if err != nil || second == nil || openNote(t, second, vkey) <= openNote(t, first, vkey) {
		t.Fatalf("second checkpoint while the webhook hangs: %q, %v; want a larger one signed at once", second, err)
	}
	if heldOut.Load() {
		t.Error("the checkpoints waited for the hanging webhook; want them signed and stored while it hangs")
	}
	var stored uint64
	if err := env.Conn.QueryRow(ctx, "SELECT count() FROM "+env.Schema.MetaDB+".log_checkpoints").Scan(&stored); err != nil || stored != 2 {
		t.Errorf("%d checkpoints stored (%v), want 2", stored, err)
	}
	close(release)

	eventually(t, "both checkpoints to arrive", func() bool { return len(web.received()) == 2 })
	if got := web.received(); !bytes.Equal(got[0], first) || !bytes.Equal(got[1], second) {
		t.Errorf("received %q, want the two checkpoints in order", got)
	}
	if n := testutil.ToFloat64(exp.failures.WithLabelValues(ExportWebhookTarget)); n != 2 {
		t.Errorf("%v failed tries counted on privaudit_checkpoint_export_failures_total, want 2 (503, 502)", n)
	}
}

// TestCheckpointExportConfig: a bad webhook URL and a delivery target name
// no schedule has are refused, the latter naming the known targets.
func TestCheckpointExportConfig(t *testing.T) {
	daily := cfg("daily")
	daily.Deliver = []Target{{Name: "compliance-mail", Type: TargetEmail, Host: "127.0.0.1", TLS: TLSNone,
		From: "privaudit@bank.example", To: []string{"audit@bank.example"}}}
	for _, c := range []struct {
		webhook    string
		deliveries []string
		want       string
	}{
		{"http://checkpoints.bank.example/in", nil, "http only to a loopback host"},
		{"ftp://127.0.0.1/x", nil, "want an absolute https:// URL"},
		{"", []string{"compliance-mial"}, `no delivery target named "compliance-mial"; the schedules' targets are compliance-mail`},
	} {
		err := CheckCheckpointExport(c.webhook, c.deliveries, []Config{daily})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q %v: %v, want %q", c.webhook, c.deliveries, err, c.want)
		}
	}
	if err := CheckCheckpointExport("https://checkpoints.bank.example/in", []string{"compliance-mail"}, []Config{daily}); err != nil {
		t.Errorf("a valid export: %v", err)
	}
	other := cfg("weekly")
	other.Deliver = []Target{{Name: "compliance-mail", Type: TargetEmail, Host: "127.0.0.1", TLS: TLSNone,
		From: "privaudit@bank.example", To: []string{"someone-else@bank.example"}}}
	if err := CheckCheckpointExport("", []string{"compliance-mail"}, []Config{daily, other}); err == nil ||
		!strings.Contains(err.Error(), "distinct names") {
		t.Errorf("two different targets of one name: %v; want refused", err)
	}
}
