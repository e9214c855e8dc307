package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/privaudit/privaudit/audit"
	"github.com/privaudit/privaudit/audit/retention"
	"github.com/privaudit/privaudit/queries"
)

// TestServeSealsRetentionDrops: serve's retention job signs each drop
// with the proof key: records of January 2019 (past the default 84
// months), dropped when serve restarts, read back as a sealed drop whose
// seal verifies with the verifier key `key show` prints and whose leaves
// are the records' five.
func TestServeSealsRetentionDrops(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	bin := buildBinary(t)
	dataDir := t.TempDir()
	srv := startServe(t, bin, dataDir)
	tok := createToken(t, bin, dataDir, "ingest")
	var b strings.Builder
	for i := range 10 {
		at := "2019-01-15T12:00:00Z"
		if i%2 == 1 {
			at = "2026-10-01T12:00:00Z"
		}
		fmt.Fprintf(&b, `{"event_id":"00000000-0000-4000-8000-%012d","occurred_at":%q,"actor_id":"svc","actor_type":"service","subject_id":"c%d","action":"read","data_categories":["account_balance"],"recipient_id":"internal","recipient_type":"internal","purpose":"balance_inquiry","legal_basis":"contract"}`+"\n", i, at, i)
	}
	req, _ := http.NewRequest("POST", srv.url+"/v1/events", strings.NewReader(b.String()))
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("ingest: %v %v", err, resp)
	}
	resp.Body.Close()
	first := attachClickHouse(t, dataDir)
	waitForStored(t, first, 10)
	waitForLogCovers(t, first)
	srv.cmd.Process.Signal(syscall.SIGTERM)
	srv.cmd.Wait()

	srv = startServe(t, bin, dataDir)
	defer func() {
		srv.cmd.Process.Signal(syscall.SIGTERM)
		srv.cmd.Wait()
	}()
	var shown bytes.Buffer
	if err := run(context.Background(), []string{"key", "show", "--data-dir", dataDir}, &shown, io.Discard); err != nil {
		t.Fatal(err)
	}
	conn := attachClickHouse(t, dataDir)
	for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(200 * time.Millisecond) {
		ds, err := retention.SealedDrops(context.Background(), conn, queries.DefaultSchema, strings.TrimSpace(shown.String()))
		if err != nil {
			t.Fatal(err)
		}
		if len(ds) == 1 {
			d := ds[0]
			if d.Table != "access_events" || d.Partition != "201901" || d.Rows != 5 || d.Problem != "" || audit.LeafCount(d.Leaves) != 5 {
				t.Fatalf("sealed drop %+v: want access_events 201901, 5 rows and 5 leaves, seal verifying", d)
			}
			listDrops(t, dataDir)
			return
		}
		if len(ds) > 1 || time.Now().After(deadline) {
			t.Fatalf("sealed drops %+v: want the drop of January 2019 within 2 minutes", ds)
		}
	}
}

// listDrops checks `privaudit retention drops`: the drop of January 2019
// (and of access_verdicts) reads signed under the proof key, UNSIGNED
// under another key.
func listDrops(t *testing.T, dataDir string) {
	t.Helper()
	var out bytes.Buffer
	if err := run(context.Background(), []string{"retention", "drops", "--data-dir", dataDir}, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	line := grepLines(out.String(), "privaudit.access_events")
	if !strings.Contains(line, "201901") || !strings.HasSuffix(strings.Join(strings.Fields(line), " "), "201901 5 5 signed") ||
		strings.Contains(out.String(), "UNSIGNED") {
		t.Fatalf("retention drops:\n%s\nwant January 2019 of access_events, 5 rows, 5 leaves, signed", out.String())
	}
	other, err := audit.CreateProofKey(filepath.Join(t.TempDir(), "other.key"), "privaudit-other")
	if err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if err := run(context.Background(), []string{"retention", "drops", "--data-dir", dataDir, "--verifier-key", other}, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	if line := grepLines(out.String(), "privaudit.access_events"); !strings.Contains(line, "UNSIGNED: signed by another key") {
		t.Fatalf("retention drops under another key:\n%s\nwant January 2019 UNSIGNED: signed by another key", out.String())
	}
}
