package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestProveCommands: against a running serve, `prove` writes the proof of
// a consent withdrawal and of an access event, and `verify-proof` checks
// each offline with the verifier key given as a string or a file, printing
// what it proves; it refuses the proof with one byte changed, another
// key, and the signing key file; prove refuses an unknown id, naming it.
func TestProveCommands(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	bin := buildBinary(t)
	dataDir, export, work := t.TempDir(), t.TempDir(), t.TempDir()
	t.Setenv("PRIVAUDIT_PROOF_CHECKPOINT_INTERVAL", "100ms")
	t.Setenv("PRIVAUDIT_PROOF_EXPORT_DIR", export)
	srv := startServe(t, bin, dataDir)
	defer func() {
		srv.cmd.Process.Signal(syscall.SIGTERM)
		srv.cmd.Wait()
	}()
	tok := createToken(t, bin, dataDir, "ingest")
	var events strings.Builder
	for i := range 6 {
		events.WriteString(crashEvent(i) + "\n")
	}
	withdrawal := `{"consent_event_id":"00000000-0000-4000-9000-000000000077","consent_id":"cons-7","subject_id":"c7","recipient_id":"messenger-platform","status":"withdrawn","purposes":["fraud_alert"],"data_categories":["account_balance"],"effective_at":"2026-11-02T08:30:00Z","method":"opt_out_app"}`
	for _, p := range []struct{ path, body string }{{"/v1/events", events.String()}, {"/v1/consents", withdrawal + "\n"}} {
		req, _ := http.NewRequest("POST", srv.url+p.path, strings.NewReader(p.body))
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("ingest %s: %v %v", p.path, err, resp)
		}
		resp.Body.Close()
	}
	deadline := time.Now().Add(time.Minute)
	for {
		if _, err := os.Stat(filepath.Join(export, "checkpoint-7.txt")); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no checkpoint of size 7 exported within a minute")
		}
		time.Sleep(50 * time.Millisecond)
	}
	ctx := context.Background()
	var shown bytes.Buffer
	if err := run(ctx, []string{"key", "show", "--data-dir", dataDir}, &shown, io.Discard); err != nil {
		t.Fatal(err)
	}
	vkey := strings.TrimSpace(shown.String())
	keyFile := filepath.Join(work, "verifier.pub")
	if err := os.WriteFile(keyFile, shown.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ id, key, want string }{
		{"00000000-0000-4000-9000-000000000077", vkey, "consent event 00000000-0000-4000-9000-000000000077"},
		{"00000000-0000-4000-8000-000000000003", keyFile, "access event 00000000-0000-4000-8000-000000000003"},
	} {
		out := filepath.Join(work, c.id+".json")
		if err := run(ctx, []string{"prove", c.id, "--out", out, "--data-dir", dataDir}, io.Discard, io.Discard); err != nil {
			t.Fatalf("prove %s: %v", c.id, err)
		}
		var res bytes.Buffer
		if err := run(ctx, []string{"verify-proof", out, "--key", c.key}, &res, io.Discard); err != nil {
			t.Fatalf("verify-proof %s: %v", c.id, err)
		}
		for _, w := range []string{"valid: " + c.want, "tree size:   7", "origin privaudit"} {
			if !strings.Contains(res.String(), w) {
				t.Errorf("verify-proof %s printed %q, want %q", c.id, res.String(), w)
			}
		}
	}
	consentProof := filepath.Join(work, "00000000-0000-4000-9000-000000000077.json")
	if b, _ := os.ReadFile(consentProof); !strings.Contains(string(b), `"status": "withdrawn"`) {
		t.Fatalf("the proof does not hold the withdrawal as stored:\n%s", b)
	}
	b, _ := os.ReadFile(consentProof)
	b[len(b)/2] ^= 1
	changed := filepath.Join(work, "changed.json")
	if err := os.WriteFile(changed, b, 0o644); err != nil {
		t.Fatal(err)
	}
	other := filepath.Join(t.TempDir(), "other")
	if err := run(ctx, []string{"key", "create", "--data-dir", other}, io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	var otherKey bytes.Buffer
	if err := run(ctx, []string{"key", "show", "--data-dir", other}, &otherKey, io.Discard); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"verify-proof", changed, "--key", vkey}, "does not hold"},
		{[]string{"verify-proof", consentProof, "--key", strings.TrimSpace(otherKey.String())}, "another key"},
		{[]string{"verify-proof", consentProof, "--key", filepath.Join(dataDir, "proof.key")}, "signing key"},
		{[]string{"verify-proof", consentProof}, "usage: privaudit verify-proof"},
		{[]string{"prove", "00000000-0000-4000-8000-00000000dead", "--data-dir", dataDir}, "00000000-0000-4000-8000-00000000dead"},
	} {
		if err := run(ctx, c.args, io.Discard, io.Discard); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: %v, want an error naming %q", c.args, err, c.want)
		}
	}
}
