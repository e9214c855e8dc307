package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

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
