package audit_test

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/transparency-dev/merkle/rfc6962"
	"github.com/transparency-dev/merkle/testonly"
	"golang.org/x/mod/sumdb/note"

	"github.com/privaudit/privaudit/audit"
)

// testLog is an in-memory log of mixed records and a key that signs its
// checkpoints.
type testLog struct {
	tree     *testonly.Tree
	events   map[uint64]*audit.StoredEvent
	consents map[uint64]*audit.StoredConsent
	key      *audit.ProofKey
	vkey     string
}

func newTestLog(t *testing.T, n int) *testLog {
	t.Helper()
	skey, vkey, err := note.GenerateKey(rand.Reader, "bank.example/privaudit")
	if err != nil {
		t.Fatal(err)
	}
	signer, err := note.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	l := &testLog{tree: testonly.New(rfc6962.DefaultHasher), events: map[uint64]*audit.StoredEvent{},
		consents: map[uint64]*audit.StoredConsent{}, key: &audit.ProofKey{Signer: signer, Verifier: vkey}, vkey: vkey}
	at := time.Date(2026, 10, 1, 12, 0, 0, 0, time.UTC)
	for i := range n {
		idx := uint64(i)
		if i%3 == 1 {
			c := &audit.StoredConsent{ConsentEventID: fmt.Sprintf("ce-%d", i), ConsentID: "c-1", SubjectID: "cust-1", RecipientID: "acme",
				Status: "withdrawn", Purposes: []string{"marketing"}, DataCategories: []string{"contact", "email"}, EffectiveAt: at.Add(time.Duration(i) * time.Hour),
				EffectiveNS: 123, Method: "app", AttrKeys: []string{}, AttrValues: []string{}, IngestedAt: at, IngestSeq: idx, BatchID: "b1"}
			l.consents[idx] = c
			l.tree.AppendData(c.AppendLeaf(nil))
			continue
		}
		e := &audit.StoredEvent{EventID: fmt.Sprintf("ev-%d", i), OccurredAt: at.Add(time.Duration(i) * time.Minute), ActorID: "clerk <7> & co",
			SubjectID: fmt.Sprintf("cust-%d", i%4), Action: "share", DataCategories: []string{"contact"}, Fields: nil, RecipientID: "acme",
			Purpose: "marketing", Outcome: "success", RecordCount: 3, AttrKeys: []string{"k"}, AttrValues: []string{"é"}, IngestedAt: at, IngestSeq: idx, BatchID: "b1"}
		l.events[idx] = e
		l.tree.AppendData(e.AppendLeaf(nil))
	}
	return l
}

// proof returns the proof file of leaf idx under the checkpoint of size.
func (l *testLog) proof(t *testing.T, idx, size uint64) []byte {
	t.Helper()
	signed, err := l.key.SignCheckpoint(size, l.tree.HashAt(size))
	if err != nil {
		t.Fatal(err)
	}
	path, err := l.tree.InclusionProof(idx, size)
	if err != nil {
		t.Fatal(err)
	}
	p := &audit.InclusionProof{Format: audit.InclusionProofFormat, LeafIndex: idx, TreeSize: size,
		LeafHash: hex.EncodeToString(l.tree.LeafHash(idx)), Checkpoint: string(signed)}
	for _, h := range path {
		p.InclusionPath = append(p.InclusionPath, hex.EncodeToString(h))
	}
	if e, ok := l.events[idx]; ok {
		p.Kind, p.Event = audit.KindEvents, e
	} else {
		p.Kind, p.Consent = audit.KindConsents, l.consents[idx]
	}
	b, err := p.Encode()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestInclusionProofVerifies: proofs of first, middle and last leaves of
// trees of power-of-two and other sizes verify, and say what they prove.
func TestInclusionProofVerifies(t *testing.T) {
	l := newTestLog(t, 17)
	for _, size := range []uint64{1, 2, 3, 4, 5, 7, 8, 9, 13, 16, 17} {
		for _, idx := range []uint64{0, size / 2, size - 1} {
			res, err := audit.VerifyInclusionProof(l.proof(t, idx, size), l.vkey)
			if err != nil {
				t.Fatalf("leaf %d of %d: %v", idx, size, err)
			}
			want := fmt.Sprintf("ev-%d", idx)
			if c, ok := l.consents[idx]; ok {
				want = c.ConsentEventID
			}
			if res.ID != want || res.LeafIndex != idx || res.TreeSize != size || res.Origin != "bank.example/privaudit" {
				t.Fatalf("leaf %d of %d: verified %+v", idx, size, res)
			}
		}
	}
	res, err := audit.VerifyInclusionProof(l.proof(t, 4, 9), l.vkey)
	if err != nil || res.Kind != audit.KindConsents || res.SubjectID != "cust-1" || !res.When.Equal(l.consents[4].EffectiveAt) {
		t.Fatalf("consent proof: %+v %v", res, err)
	}
}

// TestInclusionProofAnyByteChanged: flipping any one bit of any byte of a
// proof file, of an access event and of a consent withdrawal, makes it
// fail.
func TestInclusionProofAnyByteChanged(t *testing.T) {
	l := newTestLog(t, 11)
	for _, idx := range []uint64{6, 7} {
		file := l.proof(t, idx, 11)
		if _, err := audit.VerifyInclusionProof(file, l.vkey); err != nil {
			t.Fatal(err)
		}
		for i := range file {
			for bit := range 8 {
				changed := []byte(string(file))
				changed[i] ^= 1 << bit
				if res, err := audit.VerifyInclusionProof(changed, l.vkey); err == nil {
					t.Fatalf("leaf %d: byte %d (%q) bit %d flipped: verified %+v", idx, i, file[i], bit, res)
				}
			}
		}
		for _, edit := range []string{string(file) + "\n", " " + string(file), strings.Replace(string(file), "  ", "\t", 1)} {
			if _, err := audit.VerifyInclusionProof([]byte(edit), l.vkey); err == nil || !strings.Contains(err.Error(), "canonical") {
				t.Fatalf("reformatted proof: %v, want a refusal naming the canonical form", err)
			}
		}
	}
}

// TestInclusionProofChecks: each check fails with its own reason.
func TestInclusionProofChecks(t *testing.T) {
	l := newTestLog(t, 9)
	other := newTestLog(t, 9) // another key of the same name
	file := l.proof(t, 3, 9)
	cases := []struct {
		name, vkey string
		file       []byte
		want       string
	}{
		{"another key", other.vkey, file, "signed by another key"},
		{"bad key", "not-a-key", file, "verifier key"},
		{"record changed", l.vkey, reencode(t, file, func(p *audit.InclusionProof) { p.Event.SubjectID = "cust-9" }), "the record differs from the one logged"},
		{"leaf index changed", l.vkey, reencode(t, file, func(p *audit.InclusionProof) { p.LeafIndex = 2 }), "inclusion"},
		{"tree size changed", l.vkey, reencode(t, file, func(p *audit.InclusionProof) { p.TreeSize = 8 }), "another checkpoint"},
		{"path changed", l.vkey, reencode(t, file, func(p *audit.InclusionProof) { p.InclusionPath = p.InclusionPath[1:] }), "inclusion"},
		{"kind changed", l.vkey, reencode(t, file, func(p *audit.InclusionProof) { p.Kind = audit.KindConsents }), "kind"},
		{"record and leaf hash changed", l.vkey, reencode(t, file, func(p *audit.InclusionProof) {
			p.Event.Purpose = "fraud"
			p.LeafHash = hex.EncodeToString(audit.LeafHash(p.Event.AppendLeaf(nil)))
		}), "differs from the one logged"},
		{"other log's checkpoint", l.vkey, reencode(t, file, func(p *audit.InclusionProof) { p.Checkpoint = string(mustSign(t, other, 9)) }), "signed by another key"},
	}
	for _, c := range cases {
		_, err := audit.VerifyInclusionProof(c.file, c.vkey)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error naming %q", c.name, err, c.want)
		}
	}
}

func mustSign(t *testing.T, l *testLog, size uint64) []byte {
	b, err := l.key.SignCheckpoint(size, l.tree.HashAt(size))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// reencode parses file, applies edit and writes it canonically again.
func reencode(t *testing.T, file []byte, edit func(*audit.InclusionProof)) []byte {
	t.Helper()
	p, err := audit.ParseInclusionProof(file)
	if err != nil {
		t.Fatal(err)
	}
	edit(p)
	b, err := p.Encode()
	if err != nil {
		t.Fatal(err)
	}
	return b
}
