package ingest_test

import (
	"context"
	"encoding/base64"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	"golang.org/x/mod/sumdb/note"

	"github.com/privaudit/privaudit/audit"
	"github.com/privaudit/privaudit/audit/ingest"
	"github.com/privaudit/privaudit/audit/ingest/ingesttest"
)

// openCheckpoint opens a signed checkpoint with vkey and returns its size
// and root.
func openCheckpoint(t *testing.T, signed []byte, vkey string) (uint64, []byte) {
	t.Helper()
	v, err := note.NewVerifier(vkey)
	if err != nil {
		t.Fatal(err)
	}
	n, err := note.Open(signed, note.VerifierList(v))
	if err != nil {
		t.Fatalf("open checkpoint: %v", err)
	}
	lines := strings.Split(n.Text, "\n")
	if len(lines) != 4 || lines[0] != v.Name() || lines[3] != "" {
		t.Fatalf("checkpoint body %q: want origin, size, root", n.Text)
	}
	size, err := strconv.ParseUint(lines[1], 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	root, err := base64.StdEncoding.DecodeString(lines[2])
	if err != nil || len(root) != 32 {
		t.Fatalf("root %q: %v", lines[2], err)
	}
	return size, root
}

// TestCheckpoints: checkpoints verify with the verifier key, their roots
// are the tree's at their size, two checkpoints are consistent by a proof
// read from the stored nodes, and each is stored and exported as a file.
func TestCheckpoints(t *testing.T) {
	env := ingesttest.Start(t, ingesttest.Options{})
	dir := t.TempDir()
	vkey, err := audit.CreateProofKey(filepath.Join(dir, "proof.key"), "privaudit.test/log")
	if err != nil {
		t.Fatal(err)
	}
	key, err := audit.LoadProofKey(filepath.Join(dir, "proof.key"))
	if err != nil {
		t.Fatal(err)
	}
	export := filepath.Join(dir, "export")
	cp, err := ingest.NewCheckpointer(ingest.CheckpointOptions{Log: env.Ingestor.ProofLog(), Key: key, Conn: env.Conn, Schema: env.Schema,
		ExportDir: export, Interval: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go cp.Run(ctx)

	env.Ingest(t, audit.KindEvents, proofEvents("ck", 13))
	first := waitExport(t, export, 13)
	size1, root1 := openCheckpoint(t, first, vkey)
	checkLog(t, env, env.Ingestor.ProofLog())
	env.Ingest(t, audit.KindConsents, proofConsents("ck", 8))
	second := waitExport(t, export, 21)
	size2, root2 := openCheckpoint(t, second, vkey)
	if n := checkLog(t, env, env.Ingestor.ProofLog()); size1 != 13 || size2 != 21 || n != 21 {
		t.Fatalf("checkpoint sizes %d, %d (log %d), want 13, 21", size1, size2, n)
	}
	_, own, _ := env.Ingestor.ProofLog().State()
	if string(own) != string(root2) {
		t.Fatalf("checkpoint root %x, tree root %x", root2, own)
	}
	nodes, err := proof.Consistency(size1, size2)
	if err != nil {
		t.Fatal(err)
	}
	var hashes [][]byte
	for _, id := range nodes.IDs {
		hashes = append(hashes, storedHash(t, env, id))
	}
	p, err := nodes.Rehash(hashes, rfc6962.DefaultHasher.HashChildren)
	if err != nil {
		t.Fatal(err)
	}
	if err := proof.VerifyConsistency(rfc6962.DefaultHasher, size1, size2, p, root1, root2); err != nil {
		t.Fatalf("consistency %d -> %d: %v", size1, size2, err)
	}
	var stored string
	if err := env.Conn.QueryRow(context.Background(), "SELECT note FROM "+env.Schema.MetaDB+".log_checkpoints WHERE tree_size = 21").Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if stored != string(second) {
		t.Fatalf("stored checkpoint differs from the exported one")
	}
}

// waitExport waits for the exported checkpoint of size n.
func waitExport(t *testing.T, dir string, n int) []byte {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		b, err := os.ReadFile(filepath.Join(dir, "checkpoint-"+strconv.Itoa(n)+".txt"))
		if err == nil {
			return b
		}
		if time.Now().After(deadline) {
			t.Fatalf("no checkpoint of size %d exported within a minute: %v", n, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
