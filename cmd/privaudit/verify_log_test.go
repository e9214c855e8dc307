package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/privaudit/privaudit/audit"
	"github.com/privaudit/privaudit/audit/proof"
)

// metricsBody reads serve's /metrics with an admin token.
func metricsBody(t *testing.T, url, token string) string {
	t.Helper()
	req, _ := http.NewRequest("GET", url+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// waitMetrics polls /metrics until it holds every line of want.
func waitMetrics(t *testing.T, url, token string, want ...string) {
	t.Helper()
	var body string
	for deadline := time.Now().Add(2 * time.Minute); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		body = metricsBody(t, url, token)
		missing := false
		for _, w := range want {
			missing = missing || !strings.Contains(body, "\n"+w+"\n")
		}
		if !missing {
			return
		}
	}
	t.Fatalf("/metrics lacks %q after 2 minutes:\n%s", want, grepLines(body, "privaudit_verify"))
}

// TestVerifyCommandAndScheduledJob: on a running serve that exports its
// checkpoints, `privaudit verify` is clean (exit 0) with the default key
// and export folder, and with the verifier key given as `key show` printed
// it; the scheduled verify says clean on /metrics. After an access event
// is changed in ClickHouse, verify exits 3 naming it, and /metrics says
// what the scheduled run found.
func TestVerifyCommandAndScheduledJob(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	bin := buildBinary(t)
	dataDir, export := t.TempDir(), t.TempDir()
	t.Setenv("PRIVAUDIT_PROOF_CHECKPOINT_INTERVAL", "100ms")
	t.Setenv("PRIVAUDIT_PROOF_EXPORT_DIR", export)
	t.Setenv("PRIVAUDIT_PROOF_VERIFY_INTERVAL", "300ms")
	srv := startServe(t, bin, dataDir)
	defer func() {
		srv.cmd.Process.Signal(syscall.SIGTERM)
		srv.cmd.Wait()
	}()
	tok, admin := createToken(t, bin, dataDir, "ingest"), createToken(t, bin, dataDir, "admin")
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
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(50 * time.Millisecond) {
		if _, err := os.Stat(filepath.Join(export, "checkpoint-50.txt")); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no checkpoint of size 50 exported within a minute")
		}
	}
	waitMetrics(t, srv.url, admin, "privaudit_verify_clean 1")

	verify := func(args ...string) (string, error) {
		var out bytes.Buffer
		err := run(context.Background(), append([]string{"verify", "--data-dir", dataDir, "--log-level", "warn", "--recheck-after", "0"}, args...), &out, io.Discard)
		return out.String(), err
	}
	out, err := verify()
	if err != nil || !strings.Contains(out, "clean:") || !strings.Contains(out, "log privaudit: 50 leaves") || !strings.Contains(out, "1 exported checkpoints checked") {
		t.Fatalf("verify of an honest log: %v\n%s", err, out)
	}
	var shown bytes.Buffer
	if err := run(context.Background(), []string{"key", "show", "--data-dir", dataDir}, &shown, io.Discard); err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(t.TempDir(), "verifier.txt")
	if err := os.WriteFile(keyFile, shown.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := verify("--key", keyFile, "--checkpoint", filepath.Join(export, "checkpoint-50.txt")); err != nil || !strings.Contains(out, "clean:") {
		t.Fatalf("verify with --key FILE and --checkpoint FILE: %v\n%s", err, out)
	}

	conn := attachClickHouse(t, dataDir)
	if err := conn.Exec(context.Background(), "ALTER TABLE privaudit.access_events UPDATE purpose = 'marketing' WHERE event_id = '00000000-0000-4000-8000-000000000007'"); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(50 * time.Millisecond) {
		var pending uint64
		if err := conn.QueryRow(context.Background(), "SELECT count() FROM system.mutations WHERE is_done = 0").Scan(&pending); err != nil {
			t.Fatal(err)
		}
		if pending == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("mutation not done within a minute")
		}
	}
	out, err = verify()
	var coded interface{ ExitCode() int }
	if !errors.As(err, &coded) || coded.ExitCode() != 3 || !strings.Contains(out, "altered access_events 00000000-0000-4000-8000-000000000007 batch=") || strings.Contains(out, "clean:") {
		t.Fatalf("verify after an ALTER UPDATE: want exit 3 naming the event; got %v\n%s", err, out)
	}
	waitMetrics(t, srv.url, admin, "privaudit_verify_clean 0", `privaudit_verify_findings{kind="altered"} 1`)
}

// TestVerifyRefusesOversizeAndSigningKeyFiles: verify-proof refuses a file
// far larger than any proof before reading it, and verify refuses a --key
// file that holds the signing key, as verify-proof does.
func TestVerifyRefusesOversizeAndSigningKeyFiles(t *testing.T) {
	dir := t.TempDir()
	big := filepath.Join(dir, "big.json")
	f, err := os.Create(big)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(65 << 20); err != nil { // sparse: no disk used
		t.Fatal(err)
	}
	f.Close()
	err = run(context.Background(), []string{"verify-proof", big, "--key", "privaudit+01234567+AAAA"}, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "too large for a proof of one record") {
		t.Errorf("verify-proof of a 65 MiB file: %v", err)
	}
	keyFile := filepath.Join(dir, "proof.key")
	if _, err := audit.CreateProofKey(keyFile, "privaudit"); err != nil {
		t.Fatal(err)
	}
	err = run(context.Background(), []string{"verify", "--data-dir", dir, "--key", keyFile}, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "holds the signing key") {
		t.Errorf("verify --key SIGNING-KEY-FILE: %v", err)
	}
}

// TestScheduledVerifyLooksAgainAtRecordsWithoutLeaf: serve's scheduled
// verify waits before calling a record without a leaf inserted, as the
// command does: ingest keeps storing batches while it runs, each a moment
// before its leaves. It had no wait, so a batch in flight read as
// inserted outside privaudit.
func TestScheduledVerifyLooksAgainAtRecordsWithoutLeaf(t *testing.T) {
	vkey, err := audit.CreateProofKey(filepath.Join(t.TempDir(), "proof.key"), "bank.example/privaudit")
	if err != nil {
		t.Fatal(err)
	}
	m := &Main{Config: DefaultConfig(), Stdout: io.Discard, Stderr: io.Discard}
	o, err := m.verifyOptions(&storage{}, vkey)
	if err != nil {
		t.Fatal(err)
	}
	if o.RecheckAfter != proof.DefaultRecheckAfter {
		t.Fatalf("scheduled verify's recheck wait %v, want %v", o.RecheckAfter, proof.DefaultRecheckAfter)
	}
}
