package audit

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
)

// ProofKey is the Ed25519 key that signs the proof log's checkpoints. Its
// file holds two lines: the signer key and the verifier key, in the
// golang.org/x/mod/sumdb/note formats (PRIVATE+KEY+name+hash+key and
// name+hash+key). The file must be readable by its owner only (mode 0600).
type ProofKey struct {
	Signer   note.Signer
	Verifier string // the verifier key, for `privaudit key show`
}

// CreateProofKey writes a new key named name to path, refusing to
// overwrite an existing file.
func CreateProofKey(path, name string) (string, error) {
	skey, vkey, err := note.GenerateKey(rand.Reader, name)
	if err != nil {
		return "", fmt.Errorf("generate key: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		return "", fmt.Errorf("key file %s exists: privaudit never overwrites a signing key (move it away first if you really mean to replace it)", path)
	}
	if err != nil {
		return "", fmt.Errorf("create key file: %w", err)
	}
	if _, err := f.WriteString(skey + "\n" + vkey + "\n"); err != nil {
		f.Close()
		return "", fmt.Errorf("write key file %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return "", fmt.Errorf("write key file %s: %w", path, err)
	}
	return vkey, f.Close()
}

// LoadProofKey reads the key at path, refusing a file others can read.
func LoadProofKey(path string) (*ProofKey, error) {
	fi, err := os.Stat(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("no proof key at %s: create one with `privaudit key create`", path)
	}
	if err != nil {
		return nil, fmt.Errorf("proof key: %w", err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("proof key %s has mode %04o: others can read the signing key; run `chmod 600 %s`", path, fi.Mode().Perm(), path)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("proof key: %w", err)
	}
	lines := strings.Fields(string(b))
	if len(lines) != 2 {
		return nil, fmt.Errorf("proof key %s: want 2 lines (signer key, verifier key), found %d", path, len(lines))
	}
	signer, err := note.NewSigner(lines[0])
	if err != nil {
		return nil, fmt.Errorf("proof key %s line 1: %w", path, err)
	}
	v, err := note.NewVerifier(lines[1])
	if err != nil {
		return nil, fmt.Errorf("proof key %s line 2: %w", path, err)
	}
	if v.Name() != signer.Name() || v.KeyHash() != signer.KeyHash() {
		return nil, fmt.Errorf("proof key %s: the verifier key (line 2) is not the signer's (line 1)", path)
	}
	return &ProofKey{Signer: signer, Verifier: lines[1]}, nil
}

// CheckpointBody is a C2SP tlog-checkpoint body: the origin line, the
// tree size in decimal and the base64 root hash, each ending in a newline.
func CheckpointBody(origin string, size uint64, root []byte) string {
	return origin + "\n" + strconv.FormatUint(size, 10) + "\n" + base64.StdEncoding.EncodeToString(root) + "\n"
}

// SignCheckpoint signs a checkpoint as a signed note; the origin is the
// key's name.
func (k *ProofKey) SignCheckpoint(size uint64, root []byte) ([]byte, error) {
	return note.Sign(&note.Note{Text: CheckpointBody(k.Signer.Name(), size, root)}, k.Signer)
}

// Checkpoint is a signed checkpoint once opened: the log's origin, its
// size and root hash.
type Checkpoint struct {
	Origin string
	Size   uint64
	Root   []byte
}

// ErrCheckpointKey is returned by OpenCheckpoint for a note not signed by
// the given key: made with another key, or altered since it was signed.
var ErrCheckpointKey = errors.New("checkpoint is not signed by the given key (signed by another key, or altered since)")

// OpenCheckpoint checks a signed checkpoint note with the verifier key v
// and parses its C2SP tlog-checkpoint body (ParseCheckpoint); its origin
// must be the key's name. A signature in non-canonical base64 (stray
// padding bits, which note accepts) is refused: the note was changed.
func OpenCheckpoint(signed []byte, v note.Verifier) (Checkpoint, error) {
	n, err := note.Open(signed, note.VerifierList(v))
	if err != nil {
		var unverified *note.UnverifiedNoteError
		var invalid *note.InvalidSignatureError
		if errors.As(err, &unverified) || errors.As(err, &invalid) {
			return Checkpoint{}, ErrCheckpointKey
		}
		return Checkpoint{}, fmt.Errorf("checkpoint: not a valid signed note: %w", err)
	}
	for _, sig := range append(n.Sigs, n.UnverifiedSigs...) {
		if _, err := base64.StdEncoding.Strict().DecodeString(sig.Base64); err != nil {
			return Checkpoint{}, fmt.Errorf("checkpoint signature of %s: not canonical base64: it was changed after signing", sig.Name)
		}
	}
	var c Checkpoint
	if c.Origin, c.Size, c.Root, err = ParseCheckpoint(n.Text); err != nil {
		return Checkpoint{}, err
	}
	if c.Origin != v.Name() {
		return Checkpoint{}, fmt.Errorf("checkpoint origin %q is not the verifier key's log %q: the checkpoint is of another log", c.Origin, v.Name())
	}
	return c, nil
}
