package reports

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"
	"golang.org/x/mod/sumdb/note"

	"github.com/privaudit/privaudit/audit"
	"github.com/privaudit/privaudit/audit/ingest"
	"github.com/privaudit/privaudit/audit/ingest/ingesttest"
	"github.com/privaudit/privaudit/reports/xlsx"
)

// signCheckpoint signs a checkpoint of env's proof log as serve's
// checkpointer does and returns its size and root (hex), read back from
// the signed note with the verifier key.
func signCheckpoint(t *testing.T, env *ingesttest.Env) (uint64, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "proof.key")
	vkey, err := audit.CreateProofKey(path, "privaudit.test/reports")
	if err != nil {
		t.Fatal(err)
	}
	key, err := audit.LoadProofKey(path)
	if err != nil {
		t.Fatal(err)
	}
	cp, err := ingest.NewCheckpointer(ingest.CheckpointOptions{Log: env.Ingestor.ProofLog(), Key: key, Conn: env.Conn, Schema: env.Schema})
	if err != nil {
		t.Fatal(err)
	}
	signed, err := cp.Checkpoint(context.Background())
	if err != nil || signed == nil {
		t.Fatalf("checkpoint: %q, %v", signed, err)
	}
	v, err := note.NewVerifier(vkey)
	if err != nil {
		t.Fatal(err)
	}
	n, err := note.Open(signed, note.VerifierList(v))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(n.Text, "\n")
	size, err := strconv.ParseUint(lines[1], 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	root, err := base64.StdEncoding.DecodeString(lines[2])
	if err != nil {
		t.Fatal(err)
	}
	return size, hex.EncodeToString(root)
}

// aboutValue is the value of the About sheet row labelled label, "" if none.
func aboutValue(t *testing.T, b []byte, label string) string {
	t.Helper()
	f, err := excelize.OpenReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	rows, err := f.GetRows(xlsx.AboutSheet)
	if err != nil {
		t.Fatal(err)
	}
	for _, row := range rows {
		if len(row) == 2 && row[0] == label {
			return row[1]
		}
	}
	return ""
}

// runTo runs report as format, recording into rec, and returns the file.
func runTo(t *testing.T, r *Runner, report, format string, params map[string]string) ([]byte, RunResult) {
	t.Helper()
	var buf bytes.Buffer
	res, err := r.Run(context.Background(), RunRequest{Report: report, From: octFrom, To: octTo, Format: format,
		Params: params, Actor: "t", Out: &buf})
	if err != nil {
		t.Fatalf("run %s as %s: %v", report, format, err)
	}
	return buf.Bytes(), res
}

// TestReportsCiteCheckpoint: a run before any checkpoint says none was
// signed; a run after one cites its size and root — the ones stored in
// log_checkpoints, the size within the log — on the xlsx About sheet, in
// the html, in the csv's and json's metadata (the recorded run's
// checkpoint attribute, the download trailer); a customer report says it
// in plain words only; a runner with the proof log off says so.
func TestReportsCiteCheckpoint(t *testing.T) {
	env := goldenEnv(t, ingesttest.Options{})
	rec := &recorder{}
	r := newTestRunner(t, env, rec.record)

	b, res := runTo(t, r, "violations", "xlsx", nil)
	if got := aboutValue(t, b, "Proof log checkpoint"); !strings.HasPrefix(got, "no checkpoint signed yet") || res.Checkpoint.Value() != "none" {
		t.Errorf("before any checkpoint: About says %q, result %q; want no checkpoint signed yet", got, res.Checkpoint.Value())
	}
	if got := attr(rec.evs[0].AttrKeys, rec.evs[0].AttrValues, "checkpoint"); got != "none" {
		t.Errorf("before any checkpoint: recorded checkpoint %q, want none", got)
	}

	size, root := signCheckpoint(t, env)
	var logSize uint64
	var stored string
	if err := env.Conn.QueryRow(context.Background(), "SELECT count() FROM "+env.Schema.MetaDB+".log_leaf_rows").Scan(&logSize); err != nil {
		t.Fatal(err)
	}
	if err := env.Conn.QueryRow(context.Background(), "SELECT any(root_hash) FROM "+env.Schema.MetaDB+
		".log_checkpoints WHERE tree_size = ?", size).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if size == 0 || size > logSize || stored != root {
		t.Fatalf("signed checkpoint %d (root %s), log %d leaves, stored root %q", size, root, logSize, stored)
	}
	want := "size=" + strconv.FormatUint(size, 10) + " root=" + root + " "

	b, res = runTo(t, r, "violations", "xlsx", nil)
	sentence := aboutValue(t, b, "Proof log checkpoint")
	if !strings.HasPrefix(sentence, "the first "+strconv.FormatUint(size, 10)+" records of log privaudit.test/reports, root "+root+", signed at ") ||
		!strings.HasSuffix(sentence, "check with `privaudit verify`") || !strings.HasPrefix(res.Checkpoint.Value(), want) {
		t.Errorf("xlsx About: %q, result %q; want the checkpoint of %d records, root %s", sentence, res.Checkpoint.Value(), size, root)
	}
	for _, format := range []string{"csv", "json"} {
		rec.evs = nil
		_, res := runTo(t, r, "consents", format, nil)
		got := attr(rec.evs[0].AttrKeys, rec.evs[0].AttrValues, "checkpoint")
		if !strings.HasPrefix(got, want) || !strings.HasSuffix(got, " origin=privaudit.test/reports") || got != res.Checkpoint.Value() {
			t.Errorf("%s: recorded checkpoint %q, result %q; want %q…", format, got, res.Checkpoint.Value(), want)
		}
		w := httptest.NewRecorder()
		if err := r.Serve(context.Background(), w, RunRequest{Report: "consents", From: octFrom, To: octTo, Format: format, Actor: "t"}, env.Log); err != nil {
			t.Fatal(err)
		}
		if got := w.Result().Trailer.Get(TrailerCheckpoint); !strings.HasPrefix(got, want) {
			t.Errorf("%s download: trailer %s %q, want %q…", format, TrailerCheckpoint, got, want)
		}
	}
	b, _ = runTo(t, r, "violations", "html", nil)
	if !strings.Contains(string(b), "Proof log checkpoint") || !strings.Contains(string(b), root) {
		t.Errorf("html does not cite the checkpoint (root %s)", root)
	}

	b, _ = runTo(t, r, CustomerSubjectAccess, "xlsx", map[string]string{"subject_id": "cust-01"})
	if got := aboutValue(t, b, "Proof log checkpoint"); !strings.Contains(got, "tamper-evident log sealed on ") ||
		strings.Contains(got, root) || strings.Contains(got, strconv.FormatUint(size, 10)+" records") || strings.Contains(got, "privaudit verify") {
		t.Errorf("customer report: %q; want plain words without size, root or command", got)
	}

	off, err := NewRunner(Options{Conn: env.Conn, Schema: env.Schema, Recorder: rec.record, Version: "test", Logger: env.Log, NoProof: true})
	if err != nil {
		t.Fatal(err)
	}
	b, res = runTo(t, off, "violations", "xlsx", nil)
	if got := aboutValue(t, b, "Proof log checkpoint"); !strings.Contains(got, "proof log is disabled") || res.Checkpoint.Value() != "disabled" {
		t.Errorf("proof log off: About %q, result %q", got, res.Checkpoint.Value())
	}
}
