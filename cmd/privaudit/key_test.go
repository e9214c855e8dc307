package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/privaudit/privaudit/audit"
)

// TestKeyCommands: key create writes DATA_DIR/proof.key (0600) and prints
// the verifier key, refuses a second create, key show prints the same
// verifier key, and a checkpoint signed with the file opens with it; a key
// file readable by others is refused.
func TestKeyCommands(t *testing.T) {
	dir := t.TempDir()
	var created, shown bytes.Buffer
	if err := run(context.Background(), []string{"key", "create", "--name", "bank.example/privaudit", "--data-dir", dir}, &created, io.Discard); err != nil {
		t.Fatal(err)
	}
	if err := run(context.Background(), []string{"key", "create", "--data-dir", dir}, io.Discard, io.Discard); err == nil {
		t.Fatal("a second key create succeeded; it must refuse to overwrite")
	}
	if err := run(context.Background(), []string{"key", "show", "--data-dir", dir}, &shown, io.Discard); err != nil {
		t.Fatal(err)
	}
	vkey := strings.TrimSpace(shown.String())
	if vkey != strings.TrimSpace(created.String()) || !strings.HasPrefix(vkey, "bank.example/privaudit+") {
		t.Fatalf("key show %q, key create %q", vkey, created.String())
	}
	path := filepath.Join(dir, "proof.key")
	k, err := audit.LoadProofKey(path)
	if err != nil {
		t.Fatal(err)
	}
	signed, err := k.SignCheckpoint(1, make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	v, err := note.NewVerifier(vkey)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := note.Open(signed, note.VerifierList(v)); err != nil {
		t.Fatalf("checkpoint does not open with the shown verifier key: %v", err)
	}
	if err := os.Chmod(path, 0o640); err != nil {
		t.Fatal(err)
	}
	err = run(context.Background(), []string{"key", "show", "--data-dir", dir}, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Fatalf("key show of a 0640 key: %v, want a refusal naming chmod 600", err)
	}
}

// TestServeExportsCheckpoints: serve creates the proof key at first start,
// signs checkpoints while records arrive and exports them; the exported
// checkpoint opens with the verifier key `key show` prints and covers every
// record sent.
func TestServeExportsCheckpoints(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	bin := buildBinary(t)
	dataDir, export := t.TempDir(), t.TempDir()
	t.Setenv("PRIVAUDIT_PROOF_CHECKPOINT_INTERVAL", "100ms")
	t.Setenv("PRIVAUDIT_PROOF_EXPORT_DIR", export)
	var hookMu sync.Mutex
	var hooked [][]byte
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		hookMu.Lock()
		hooked = append(hooked, b)
		hookMu.Unlock()
	}))
	defer hook.Close()
	t.Setenv("PRIVAUDIT_PROOF_EXPORT_WEBHOOK", hook.URL)
	srv := startServe(t, bin, dataDir)
	defer func() {
		srv.cmd.Process.Signal(syscall.SIGTERM)
		srv.cmd.Wait()
	}()
	tok := createToken(t, bin, dataDir, "ingest")
	var b strings.Builder
	for i := range 50 {
		b.WriteString(crashEvent(i) + "\n")
	}
	req, _ := http.NewRequest("POST", srv.url+"/v1/events", strings.NewReader(b.String()))
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("ingest: %v %v", err, resp)
	}
	resp.Body.Close()
	var signed []byte
	deadline := time.Now().Add(time.Minute)
	for signed == nil {
		signed, _ = os.ReadFile(filepath.Join(export, "checkpoint-50.txt"))
		if signed == nil && time.Now().After(deadline) {
			t.Fatal("no checkpoint of size 50 exported within a minute")
		}
		time.Sleep(50 * time.Millisecond)
	}
	var shown bytes.Buffer
	if err := run(context.Background(), []string{"key", "show", "--data-dir", dataDir}, &shown, io.Discard); err != nil {
		t.Fatal(err)
	}
	v, err := note.NewVerifier(strings.TrimSpace(shown.String()))
	if err != nil {
		t.Fatal(err)
	}
	n, err := note.Open(signed, note.VerifierList(v))
	if err != nil {
		t.Fatalf("exported checkpoint does not verify with `key show`: %v", err)
	}
	if lines := strings.Split(n.Text, "\n"); len(lines) != 4 || lines[0] != "privaudit" || lines[1] != "50" {
		t.Fatalf("checkpoint body %q: want origin privaudit, size 50", n.Text)
	}
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(50 * time.Millisecond) {
		hookMu.Lock()
		got := slices.ContainsFunc(hooked, func(b []byte) bool { return bytes.Equal(b, signed) })
		hookMu.Unlock()
		if got {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("proof.export_webhook did not receive the checkpoint of size 50 within a minute")
		}
	}
}
