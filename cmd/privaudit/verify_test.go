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
	"testing"
	"time"

	"github.com/privaudit/privaudit/audit/auth"
)

// verifyServe starts `privaudit serve` in this process on the managed
// ClickHouse of dataDir, logging into logs.
func verifyServe(t *testing.T, dataDir string, logs *bytes.Buffer) *server {
	t.Helper()
	m := &Main{Config: DefaultConfig(), Stdout: io.Discard, Stderr: logs}
	m.Config.DataDir, m.Config.Listen, m.Config.Ingest.Linger = dataDir, "127.0.0.1:0", 20*time.Millisecond
	if err := m.Config.Validate(); err != nil {
		t.Fatal(err)
	}
	m.Log = newLogger(logs, "info")
	srv, err := m.startServer(context.Background())
	if err != nil {
		t.Fatalf("serve: %v\n%s", err, logs.String())
	}
	return srv
}

// runVerify runs `privaudit verify verdicts ARGS` on dataDir's storage.
func runVerify(t *testing.T, dataDir string, args ...string) (string, error) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	args = append([]string{"verify", "verdicts", "--data-dir", dataDir, "--log-level", "warn"}, args...)
	err := run(context.Background(), args, &stdout, &stderr)
	return stdout.String(), err
}

// TestVerifyVerdictsCommand: a deployment upgrading to the verdict store
// (events stored, no verdict) is backfilled when serve starts; `privaudit
// verify verdicts` then finds it clean and exits 0, names a tampered
// verdict and exits 3, and refuses a missing period as a usage error.
func TestVerifyVerdictsCommand(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a managed ClickHouse twice")
	}
	dataDir := t.TempDir()
	var logs bytes.Buffer
	srv := verifyServe(t, dataDir, &logs)
	ctx := context.Background()
	tok, err := srv.tokens.Create(ctx, "ingest", auth.RoleIngest)
	if err != nil {
		t.Fatal(err)
	}
	for _, kind := range []string{"consents", "events"} {
		b, err := os.ReadFile(filepath.Join("..", "..", "reports", "testdata", kind+".ndjson"))
		if err != nil {
			t.Fatal(err)
		}
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/v1/"+kind, bytes.NewReader(b))
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("ingest %s: %v %v", kind, err, resp)
		}
		resp.Body.Close()
	}
	wctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := srv.ingestor.WaitStored(wctx); err != nil {
		t.Fatal(err)
	}
	// As stored before the verdict store existed.
	if err := srv.st.Conn.Exec(ctx, "TRUNCATE TABLE privaudit.access_verdicts"); err != nil {
		t.Fatal(err)
	}
	if err := srv.Shutdown(); err != nil {
		t.Fatal(err)
	}

	logs.Reset()
	srv = verifyServe(t, dataDir, &logs)
	t.Cleanup(func() { _ = srv.Shutdown() })
	if !strings.Contains(logs.String(), "stored events into the verdict store; this runs once") {
		t.Errorf("serve did not backfill the verdict store at start:\n%s", logs.String())
	}
	out, err := runVerify(t, dataDir, "--from", "2026-10-01", "--to", "2026-11-01")
	if err != nil || !strings.Contains(out, "differing: 0, missing: 0, orphaned: 0") || !strings.Contains(out, "clean") {
		t.Fatalf("after the backfill: %v\n%s", err, out)
	}

	var tampered string
	if err := srv.st.Conn.QueryRow(ctx, "SELECT event_id FROM privaudit.access_verdicts FINAL WHERE verdict = 'covered' ORDER BY event_id LIMIT 1").Scan(&tampered); err != nil {
		t.Fatal(err)
	}
	if err := srv.st.Conn.Exec(ctx, `INSERT INTO privaudit.access_verdicts (event_id, occurred_at, occurred_ns, subject_id,
		verdict, verdict_consent_id, verdict_detail, is_disclosure, ledger_position, evaluated_at)
		SELECT event_id, occurred_at, occurred_ns, subject_id, 'consent_withdrawn', verdict_consent_id, verdict_detail,
			is_disclosure, ledger_position + 1, now()
		FROM privaudit.access_verdicts FINAL WHERE event_id = ?`, tampered); err != nil {
		t.Fatal(err)
	}
	out, err = runVerify(t, dataDir, "--from", "2026-10-01", "--to", "2026-11-01", "--recheck-after", "50ms")
	var ec interface{ ExitCode() int }
	if !errors.As(err, &ec) || ec.ExitCode() != exitDiffering {
		t.Fatalf("want exit %d for a difference, got %v\n%s", exitDiffering, err, out)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if !strings.HasPrefix(lines[0], "differs\t"+tampered+"\tstored: verdict=consent_withdrawn") ||
		!strings.Contains(lines[0], "recomputed: verdict=covered") || !strings.Contains(out, "differing: 1, missing: 0, orphaned: 0") {
		t.Errorf("want the tampered event named, got:\n%s", out)
	}
	var ue usageError
	if _, err := runVerify(t, dataDir, "--to", "2026-11-01"); !errors.As(err, &ue) {
		t.Errorf("want a usage error without --from, got %v", err)
	}
}
