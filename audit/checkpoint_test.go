package audit

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/note"
)

// TestProofKeyFile: create refuses to overwrite, a key readable by others
// is refused naming the fix, and a checkpoint signed with the key opens
// with its verifier key.
func TestProofKeyFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "proof.key")
	vkey, err := CreateProofKey(path, "privaudit.example/log")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := CreateProofKey(path, "other"); err == nil || !strings.Contains(err.Error(), "never overwrites") {
		t.Fatalf("second create: %v, want a refusal", err)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %o, want 0600", fi.Mode().Perm())
	}
	k, err := LoadProofKey(path)
	if err != nil {
		t.Fatal(err)
	}
	if k.Verifier != vkey {
		t.Fatalf("verifier %q, want %q", k.Verifier, vkey)
	}
	signed, err := k.SignCheckpoint(3, make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	v, _ := note.NewVerifier(vkey)
	n, err := note.Open(signed, note.VerifierList(v))
	if err != nil {
		t.Fatal(err)
	}
	if want := "privaudit.example/log\n3\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n"; n.Text != want {
		t.Fatalf("checkpoint body %q, want %q", n.Text, want)
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadProofKey(path); err == nil || !strings.Contains(err.Error(), "chmod 600 "+path) {
		t.Fatalf("load of a 0644 key: %v, want a refusal naming chmod 600", err)
	}
}
