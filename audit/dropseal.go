package audit

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"
)

// LeafRange is a run of proof log leaf indexes, First through Last
// inclusive.
type LeafRange struct{ First, Last uint64 }

// SealedDrop is one partition dropped by the retention job, as a verifier
// of the proof log sees it: the leaves of the records the partition held
// when it was dropped, and whether the drop's signature holds. A leaf
// whose record is gone counts as retention, never as tampering, only when
// it lies in the Leaves of a drop whose Problem is empty.
type SealedDrop struct {
	DropID    string
	DB        string
	Table     string
	Partition string
	Rows      uint64
	DoneAt    time.Time
	Leaves    []LeafRange
	// Problem is "" when the drop's signed seal verifies with the proof
	// key and matches its recorded leaves; otherwise it says why not
	// (unsigned, signed by another key, leaves altered since signed).
	Problem string
}

// DropSealFormat is the first line of a retention drop's signed text.
const DropSealFormat = "privaudit retention drop v1"

// DropSeal is what the proof key signs about one retention drop: the
// partition dropped, what it held and the proof log leaves it removed.
type DropSeal struct {
	DropID, DB, Table, Partition string
	// From and To are the partition's month, [From, To).
	From, To time.Time
	Rows     uint64
	Leaves   []LeafRange
}

// AddLeaf appends leaf index i to runs, read in ascending order: it
// extends the last run when i follows it (or repeats one of its indexes)
// and starts a new run otherwise.
func AddLeaf(runs []LeafRange, i uint64) []LeafRange {
	if n := len(runs); n > 0 && i <= runs[n-1].Last+1 && i >= runs[n-1].First {
		runs[n-1].Last = max(runs[n-1].Last, i)
		return runs
	}
	return append(runs, LeafRange{First: i, Last: i})
}

// LeafCount is the number of leaf indexes in runs.
func LeafCount(runs []LeafRange) uint64 {
	var n uint64
	for _, r := range runs {
		n += r.Last - r.First + 1
	}
	return n
}

// LeafRunsDigest is the SHA-256 of the canonical encoding of runs: each
// run, in the order given, as First then Last, each 8 bytes big-endian.
// No runs hash as SHA-256 of the empty string.
func LeafRunsDigest(runs []LeafRange) [sha256.Size]byte {
	h := sha256.New()
	var b [16]byte
	for _, r := range runs {
		binary.BigEndian.PutUint64(b[:8], r.First)
		binary.BigEndian.PutUint64(b[8:], r.Last)
		h.Write(b[:])
	}
	var out [sha256.Size]byte
	h.Sum(out[:0])
	return out
}

// Text is the canonical text of the drop the proof key signs: the line
// DropSealFormat, then one "name value" line each for drop_id, db, table,
// partition, range (the month, two RFC 3339 UTC times), row_count, leaves
// (how many leaf indexes the runs hold) and leaf_runs_sha256 (lowercase
// hex LeafRunsDigest), each line ending in a newline.
func (s DropSeal) Text() string {
	d := LeafRunsDigest(s.Leaves)
	return DropSealFormat + "\n" +
		"drop_id " + s.DropID + "\n" +
		"db " + s.DB + "\n" +
		"table " + s.Table + "\n" +
		"partition " + s.Partition + "\n" +
		"range " + s.From.UTC().Format(time.RFC3339) + " " + s.To.UTC().Format(time.RFC3339) + "\n" +
		"row_count " + strconv.FormatUint(s.Rows, 10) + "\n" +
		"leaves " + strconv.FormatUint(LeafCount(s.Leaves), 10) + "\n" +
		"leaf_runs_sha256 " + hex.EncodeToString(d[:]) + "\n"
}

// SignDrop signs the drop s as a signed note.
func (k *ProofKey) SignDrop(s DropSeal) ([]byte, error) {
	return note.Sign(&note.Note{Text: s.Text()}, k.Signer)
}

// CheckDropSeal says why signed is not a valid seal of the recorded drop
// s by the key of v, or "" when it is: no signature, a signature by
// another key or one that does not verify, a note that is not a drop seal,
// or a signed text that differs from the recorded drop (naming the first
// line that differs: leaf_runs_sha256 when the recorded leaf runs are not
// the ones signed).
func CheckDropSeal(signed []byte, v note.Verifier, s DropSeal) string {
	if len(signed) == 0 {
		return "unsigned: the drop carries no signature"
	}
	n, err := note.Open(signed, note.VerifierList(v))
	var unknown *note.UnverifiedNoteError
	var invalid *note.InvalidSignatureError
	switch {
	case errors.As(err, &unknown):
		return "signed by another key: no signature by " + v.Name() + " (key hash " + fmt.Sprintf("%08x", v.KeyHash()) + ")"
	case errors.As(err, &invalid):
		return "signature does not verify: the signed drop was altered after signing"
	case err != nil:
		return "signature is not a signed note: " + err.Error()
	}
	got, want := strings.Split(n.Text, "\n"), strings.Split(s.Text(), "\n")
	if got[0] != DropSealFormat {
		return fmt.Sprintf("signed text is not a retention drop (first line %q, want %q)", got[0], DropSealFormat)
	}
	for i, w := range want {
		if i >= len(got) || got[i] != w {
			field, _, _ := strings.Cut(w, " ")
			if field == "leaf_runs_sha256" || field == "leaves" {
				return "leaf runs recorded do not match the signed digest (" + field + " differs)"
			}
			return "recorded drop differs from the signed one (" + field + " differs)"
		}
	}
	if len(got) != len(want) {
		return "signed text has lines the recorded drop does not"
	}
	return ""
}
