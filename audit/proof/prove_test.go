package proof_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/privaudit/privaudit/audit"
	"github.com/privaudit/privaudit/audit/ingest"
	"github.com/privaudit/privaudit/audit/ingest/ingesttest"
	"github.com/privaudit/privaudit/audit/proof"
)

var base = time.Date(2026, 10, 1, 9, 0, 0, 0, time.UTC)

// provedLog is a stored log of both kinds with checkpoints of several
// sizes, signed by a key whose verifier key is vkey.
type provedLog struct {
	env   *ingesttest.Env
	vkey  string
	sizes []uint64
}

func startProvedLog(t *testing.T) *provedLog {
	t.Helper()
	env := ingesttest.Start(t, ingesttest.Options{})
	key, _ := newKey(t, "bank.example/privaudit")
	vkey := key.Verifier
	cp, err := ingest.NewCheckpointer(ingest.CheckpointOptions{Log: env.Ingestor.ProofLog(), Key: key, Conn: env.Conn, Schema: env.Schema})
	if err != nil {
		t.Fatal(err)
	}
	l := &provedLog{env: env, vkey: vkey}
	batches := []struct {
		kind audit.Kind
		n    int
	}{{audit.KindConsents, 5}, {audit.KindEvents, 8}, {audit.KindEvents, 3}, {audit.KindConsents, 1}}
	for bi, b := range batches {
		var body strings.Builder
		for i := range b.n {
			id := fmt.Sprintf("b%d-%d", bi, i)
			if b.kind == audit.KindEvents {
				body.WriteString(ingesttest.WireEvent(id, fmt.Sprintf("cust-%d", i%3), "acme", "marketing", "c-1", base.Add(time.Duration(i)*time.Minute), "contact") + "\n")
			} else {
				status := "granted"
				if bi == 3 {
					status = "withdrawn"
				}
				body.WriteString(ingesttest.WireConsent(id, fmt.Sprintf("c-%d", i), fmt.Sprintf("cust-%d", i%3), "acme", status,
					base.Add(time.Duration(bi)*time.Hour), []string{"marketing"}, []string{"contact"}) + "\n")
			}
		}
		env.Ingest(t, b.kind, body.String())
		signed, err := cp.Checkpoint(context.Background())
		if err != nil || signed == nil {
			t.Fatalf("checkpoint after batch %d: %v", bi, err)
		}
		size, _, _ := env.Ingestor.ProofLog().State()
		l.sizes = append(l.sizes, size)
	}
	if want := []uint64{5, 13, 16, 17}; fmt.Sprint(l.sizes) != fmt.Sprint(want) {
		t.Fatalf("checkpoint sizes %v, want %v", l.sizes, want)
	}
	return l
}

// keyAt returns the record key of leaf idx.
func (l *provedLog) keyAt(t *testing.T, idx uint64) string {
	t.Helper()
	var key string
	if err := l.env.Conn.QueryRow(context.Background(), "SELECT record_key FROM "+l.env.Schema.MetaDB+".log_leaf_rows WHERE leaf_index = ?", idx).Scan(&key); err != nil {
		t.Fatal(err)
	}
	return key
}

func (l *provedLog) prove(id string, size uint64) ([]byte, *audit.Verified, error) {
	return proof.Prove(context.Background(), proof.ProveOptions{Conn: l.env.Conn, Schema: l.env.Schema, ID: id, CheckpointSize: size, VerifierKey: l.vkey})
}

// TestProveVerifiesOffline: proofs of first, middle and last leaves under
// checkpoints of sizes 5, 13, 16 and 17, of access events and consent
// events alike, built from the stored log, verify offline with the
// verifier key alone; the latest checkpoint is the default; another key
// refuses them; changing any one bit of a proof file makes it fail.
func TestProveVerifiesOffline(t *testing.T) {
	l := startProvedLog(t)
	kinds := map[audit.Kind]int{}
	for _, size := range l.sizes {
		for _, idx := range []uint64{0, size / 2, size - 1} {
			id := l.keyAt(t, idx)
			file, _, err := l.prove(id, size)
			if err != nil {
				t.Fatalf("prove leaf %d under size %d: %v", idx, size, err)
			}
			res, err := audit.VerifyInclusionProof(file, l.vkey)
			if err != nil {
				t.Fatalf("verify leaf %d under size %d: %v", idx, size, err)
			}
			if res.ID != id || res.LeafIndex != idx || res.TreeSize != size || res.Origin != "bank.example/privaudit" {
				t.Fatalf("leaf %d under size %d: verified %+v", idx, size, res)
			}
			kinds[res.Kind]++
		}
	}
	if kinds[audit.KindEvents] == 0 || kinds[audit.KindConsents] == 0 {
		t.Fatalf("proved kinds %v, want both", kinds)
	}
	withdrawal := ingesttest.UID("b3-0")
	file, res, err := l.prove(withdrawal, 0)
	if err != nil {
		t.Fatal(err)
	}
	if res.Kind != audit.KindConsents || res.TreeSize != 17 || res.LeafIndex != 16 || res.Proof.Consent.Status != "withdrawn" {
		t.Fatalf("withdrawal under the latest checkpoint: %+v", res)
	}
	other, err := audit.CreateProofKey(filepath.Join(t.TempDir(), "other.key"), "bank.example/privaudit")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := audit.VerifyInclusionProof(file, other); err == nil || !strings.Contains(err.Error(), "another key") {
		t.Fatalf("verified with another key: %v, want a refusal naming another key", err)
	}
	for i := range file {
		for bit := range 8 {
			changed := []byte(string(file))
			changed[i] ^= 1 << bit
			if _, err := audit.VerifyInclusionProof(changed, l.vkey); err == nil {
				t.Fatalf("byte %d (%q) bit %d flipped: the proof still verifies", i, file[i], bit)
			}
		}
	}
}

// TestProveRefuses: prove refuses an unknown id (naming it), a checkpoint
// size that does not cover the record or was never signed, and a record
// altered in ClickHouse since it was logged.
func TestProveRefuses(t *testing.T) {
	l := startProvedLog(t)
	if _, _, err := l.prove("no-such-record", 0); err == nil || !strings.Contains(err.Error(), "no-such-record") || !strings.Contains(err.Error(), "no record") {
		t.Fatalf("unknown id: %v, want a refusal naming it", err)
	}
	late := l.keyAt(t, 14)
	if _, _, err := l.prove(late, 13); err == nil || !strings.Contains(err.Error(), "does not cover") {
		t.Fatalf("leaf 14 under size 13: %v, want a refusal", err)
	}
	if _, _, err := l.prove(late, 15); err == nil || !strings.Contains(err.Error(), "no stored checkpoint has tree size 15") {
		t.Fatalf("unsigned size 15: %v, want a refusal", err)
	}
	ctx := context.Background()
	victim := l.keyAt(t, 7)
	if err := l.env.Conn.Exec(ctx, "ALTER TABLE "+l.env.Schema.DB+".access_events UPDATE purpose = 'fraud' WHERE event_id = ?", victim); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(2 * time.Minute)
	for l.env.Count(t, "SELECT count() FROM "+l.env.Schema.DB+".access_events WHERE event_id = ? AND purpose = 'fraud'", victim) != 1 {
		if time.Now().After(deadline) {
			t.Fatal("the ALTER UPDATE mutation did not finish within 2 minutes")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if _, _, err := l.prove(victim, 0); err == nil || !strings.Contains(err.Error(), "altered since it was logged") {
		t.Fatalf("altered record: %v, want a refusal", err)
	}
	if _, _, err := l.prove(l.keyAt(t, 6), 0); err != nil {
		t.Fatalf("an untouched record beside the altered one: %v", err)
	}
}
