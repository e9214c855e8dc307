package audit_test

import (
	"crypto/sha256"
	"encoding/hex"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/privaudit/privaudit/audit"
)

// TestAddLeafMergesRuns: ascending indexes merge into runs of consecutive
// indexes; a repeated index adds nothing.
func TestAddLeafMergesRuns(t *testing.T) {
	var runs []audit.LeafRange
	for _, i := range []uint64{0, 1, 2, 2, 5, 7, 8, 9, 20} {
		runs = audit.AddLeaf(runs, i)
	}
	want := []audit.LeafRange{{0, 2}, {5, 5}, {7, 9}, {20, 20}}
	if !slices.Equal(runs, want) {
		t.Fatalf("runs %v, want %v", runs, want)
	}
	if n := audit.LeafCount(runs); n != 8 {
		t.Fatalf("leaf count %d, want 8", n)
	}
}

func testKey(t *testing.T, name string) (*audit.ProofKey, note.Verifier) {
	t.Helper()
	path := filepath.Join(t.TempDir(), name+".key")
	vkey, err := audit.CreateProofKey(path, name)
	if err != nil {
		t.Fatal(err)
	}
	k, err := audit.LoadProofKey(path)
	if err != nil {
		t.Fatal(err)
	}
	v, err := note.NewVerifier(vkey)
	if err != nil {
		t.Fatal(err)
	}
	return k, v
}

// TestDropSeal: a signed drop opens with its key; its text is the
// documented canonical text; every way it can fail is named.
func TestDropSeal(t *testing.T) {
	k, v := testKey(t, "privaudit-test")
	other, _ := testKey(t, "privaudit-other")
	s := audit.DropSeal{DropID: "d1", DB: "privaudit", Table: "access_events", Partition: "202605",
		From: time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC),
		Rows: 3, Leaves: []audit.LeafRange{{0, 1}, {4, 4}}}
	// The runs {0,1} and {4,4}, each as two 8-byte big-endian numbers.
	enc := make([]byte, 32)
	enc[15], enc[23], enc[31] = 1, 4, 4
	sum := sha256.Sum256(enc)
	runsDigest := hex.EncodeToString(sum[:])
	wantText := "privaudit retention drop v1\ndrop_id d1\ndb privaudit\ntable access_events\npartition 202605\n" +
		"range 2026-05-01T00:00:00Z 2026-06-01T00:00:00Z\nrow_count 3\nleaves 3\n" +
		"leaf_runs_sha256 " + runsDigest + "\n"
	if got := s.Text(); got != wantText {
		t.Fatalf("text\n%s\nwant\n%s", s.Text(), wantText)
	}
	sig, err := k.SignDrop(s)
	if err != nil {
		t.Fatal(err)
	}
	if p := audit.CheckDropSeal(sig, v, s); p != "" {
		t.Fatalf("a fresh seal: %s", p)
	}
	altered := s
	altered.Leaves = []audit.LeafRange{{0, 1}, {4, 5}}
	foreign, _ := other.SignDrop(s)
	for _, c := range []struct {
		name string
		sig  []byte
		s    audit.DropSeal
		want string
	}{
		{"unsigned", nil, s, "unsigned"},
		{"runs altered", sig, altered, "leaf runs recorded do not match the signed digest"},
		{"text altered", []byte(strings.Replace(string(sig), "row_count 3", "row_count 2", 1)), s, "signature does not verify"},
		{"other key", foreign, s, "signed by another key"},
		{"rows differ", sig, audit.DropSeal{DropID: "d1", DB: "privaudit", Table: "access_events", Partition: "202605",
			From: s.From, To: s.To, Rows: 4, Leaves: s.Leaves}, "row_count differs"},
		{"not a note", []byte("hello\n"), s, "not a signed note"},
	} {
		if p := audit.CheckDropSeal(c.sig, v, c.s); !strings.Contains(p, c.want) {
			t.Errorf("%s: problem %q, want it to say %q", c.name, p, c.want)
		}
	}
}
