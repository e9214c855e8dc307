package reportsbench

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/privaudit/privaudit/audit"
	"github.com/privaudit/privaudit/audit/ingest/ingesttest"
	"github.com/privaudit/privaudit/audit/proof"
)

// TestVerifySmoke runs the verify benchmark on a small sealed log: both
// figures are there, the baseline read every stored record, verify found
// the log clean, and the printout states the ratio against the bound (no
// timing is asserted).
func TestVerifySmoke(t *testing.T) {
	env := ingesttest.Start(t, ingesttest.Options{})
	var events, consents []string
	at := time.Date(2026, 10, 1, 9, 0, 0, 0, time.UTC)
	for i := range 300 {
		events = append(events, ingesttest.WireEvent(fmt.Sprintf("vb-%d", i), fmt.Sprintf("s-%d", i%17), "acme", "marketing", "", at.Add(time.Duration(i)*time.Minute), "contact"))
	}
	for i := range 20 {
		consents = append(consents, ingesttest.WireConsent(fmt.Sprintf("vbc-%d", i), fmt.Sprintf("k-%d", i), fmt.Sprintf("s-%d", i), "acme", "granted", at, []string{"marketing"}, []string{"contact"}))
	}
	env.Ingest(t, audit.KindEvents, strings.Join(events, "\n"))
	env.Ingest(t, audit.KindConsents, strings.Join(consents, "\n"))
	vkey, err := audit.CreateProofKey(filepath.Join(t.TempDir(), "proof.key"), "bench")
	if err != nil {
		t.Fatal(err)
	}
	v, err := note.NewVerifier(vkey)
	if err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	tgt := Target{Conn: env.Conn, Addr: env.CH.Addr, HTTPAddr: env.CH.HTTPAddr, User: env.CH.AdminUser, Password: env.CH.AdminPassword, Schema: env.Schema}
	res, err := Verify(context.Background(), tgt, VerifyOptions{Proof: proof.Options{Schema: env.Schema, Verifier: v}, Rounds: 2, Log: &log})
	if err != nil {
		t.Fatalf("verify bench: %v\n%s", err, log.String())
	}
	if res.Records != 320 || res.Leaves != 320 || !res.Clean || !res.ByDigest || len(res.Rounds) != 2 || res.Ratio <= 0 || res.PeakRSS <= 0 {
		t.Fatalf("result %+v", res)
	}
	for _, r := range res.Rounds {
		if r.Raw.ReadRows != 320 || r.Raw.Queries != 2 || r.Verify.Queries < 3 || r.Verify.ReadRows < 321 || r.Verify.Seconds <= 0 {
			t.Errorf("round: raw %+v, verify %+v; want the raw read of the 320 records in 2 queries, verify reading the records and the runs of their leaves (one row per batch)", r.Raw, r.Verify)
		}
	}
	var out bytes.Buffer
	PrintVerify(&out, res)
	if !strings.Contains(out.String(), "to "+BaseRecords+" (≤ 3.0×: ") {
		t.Errorf("printout lacks the ratio against the bound:\n%s", out.String())
	}
}
