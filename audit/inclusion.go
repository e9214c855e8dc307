package audit

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	"golang.org/x/mod/sumdb/note"
)

// InclusionProofFormat is the format field of every inclusion proof file.
const InclusionProofFormat = "privaudit-inclusion-proof-v1"

// InclusionProof is a self-contained proof that one stored record is a
// leaf of the proof log under a signed checkpoint; `privaudit prove`
// writes it and `privaudit verify-proof` checks it offline.
//
// Its file is JSON, exactly as Encode writes it (two-space indent, keys in
// this order, a final newline); any other spelling of the same values is
// refused, so that changing any byte of a file makes it fail:
//
//	format          "privaudit-inclusion-proof-v1"
//	kind            "events" or "consents"
//	leaf_index      the record's leaf index (decimal)
//	tree_size       the checkpoint's tree size (decimal)
//	leaf_hash       lowercase hex of the record's RFC 6962 leaf hash
//	access_event    for kind events: every column of the stored row
//	                (StoredEvent), keyed by column name
//	consent_event   for kind consents: every column (StoredConsent)
//	inclusion_path  the RFC 6962 inclusion path, lowercase hex hashes
//	                from the leaf up
//	checkpoint      the C2SP tlog-checkpoint signed note, as stored
//
// Arrays are JSON arrays (never null); times are RFC 3339 UTC seconds.
type InclusionProof struct {
	Format        string         `json:"format"`
	Kind          Kind           `json:"kind"`
	LeafIndex     uint64         `json:"leaf_index"`
	TreeSize      uint64         `json:"tree_size"`
	LeafHash      string         `json:"leaf_hash"`
	Event         *StoredEvent   `json:"access_event,omitempty"`
	Consent       *StoredConsent `json:"consent_event,omitempty"`
	InclusionPath []string       `json:"inclusion_path"`
	Checkpoint    string         `json:"checkpoint"`
}

// Verified is what a valid inclusion proof shows: the record was leaf
// LeafIndex of the log of Origin when it held TreeSize leaves with root
// Root, as signed by the verifier key.
type Verified struct {
	Kind      Kind
	ID        string // event_id or consent_event_id
	SubjectID string
	// When is the record's occurred_at (events) or effective_at (consents).
	When      time.Time
	LeafIndex uint64
	TreeSize  uint64
	Origin    string
	Root      []byte
	Proof     *InclusionProof
}

// Encode returns p's canonical file: its times in UTC seconds, its arrays
// never null.
func (p *InclusionProof) Encode() ([]byte, error) {
	c := *p
	if c.Event != nil {
		e := *c.Event
		e.OccurredAt, e.IngestedAt = canonTime(e.OccurredAt), canonTime(e.IngestedAt)
		for _, s := range []*[]string{&e.DataCategories, &e.Fields, &e.AttrKeys, &e.AttrValues} {
			*s = canonStrs(*s)
		}
		c.Event = &e
	}
	if c.Consent != nil {
		k := *c.Consent
		k.EffectiveAt, k.ExpiresAt, k.IngestedAt = canonTime(k.EffectiveAt), canonTime(k.ExpiresAt), canonTime(k.IngestedAt)
		for _, s := range []*[]string{&k.Purposes, &k.DataCategories, &k.AttrKeys, &k.AttrValues} {
			*s = canonStrs(*s)
		}
		c.Consent = &k
	}
	c.InclusionPath = canonStrs(c.InclusionPath)
	b, err := json.MarshalIndent(&c, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode inclusion proof: %w", err)
	}
	return append(b, '\n'), nil
}

func canonTime(t time.Time) time.Time { return time.Unix(t.Unix(), 0).UTC() }

func canonStrs(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// ParseInclusionProof parses a proof file strictly: it must be exactly the
// file Encode writes for the values it holds.
func ParseInclusionProof(file []byte) (*InclusionProof, error) {
	var p InclusionProof
	d := json.NewDecoder(bytes.NewReader(file))
	d.DisallowUnknownFields()
	if err := d.Decode(&p); err != nil {
		return nil, fmt.Errorf("proof file: not a privaudit inclusion proof (%v); it was damaged or is another kind of file", err)
	}
	if p.Format != InclusionProofFormat {
		return nil, fmt.Errorf("proof file: format %q, want %q", p.Format, InclusionProofFormat)
	}
	canon, err := p.Encode()
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(canon, file) {
		return nil, fmt.Errorf("proof file: not in canonical form at byte %d: it was edited after privaudit wrote it (a proof file must be byte for byte as written)", firstDiff(canon, file))
	}
	return &p, nil
}

func firstDiff(a, b []byte) int {
	i := 0
	for i < len(a) && i < len(b) && a[i] == b[i] {
		i++
	}
	return i
}

// VerifyInclusionProof checks a proof file offline with verifierKey (the
// name+hash+key that `privaudit key show` prints): its canonical form, the
// checkpoint's signature and body, the record's leaf hash and its
// inclusion path up to the checkpoint's root. The error names the check
// that failed and what it means.
func VerifyInclusionProof(file []byte, verifierKey string) (*Verified, error) {
	v, err := note.NewVerifier(strings.TrimSpace(verifierKey))
	if err != nil {
		return nil, fmt.Errorf("verifier key: %w (want name+hash+key, as `privaudit key show` prints)", err)
	}
	p, err := ParseInclusionProof(file)
	if err != nil {
		return nil, err
	}
	if _, err := OpenCheckpoint([]byte(p.Checkpoint), v); errors.Is(err, ErrCheckpointKey) {
		return nil, fmt.Errorf("checkpoint signature: not signed by the key %s: it was signed by another key, or its text was changed after signing", v.Name())
	} else if err != nil {
		return nil, err
	}
	res, err := p.Check()
	if err != nil {
		return nil, err
	}
	return res, nil
}

// CheckpointText is the text of a signed note: everything before the blank
// line that opens its signatures.
func CheckpointText(signed string) string {
	if i := strings.Index(signed, "\n\n"); i >= 0 {
		return signed[:i+1]
	}
	return signed
}

// ParseCheckpoint parses a C2SP tlog-checkpoint body: the origin line, the
// tree size in decimal, the base64 root hash, then optional extension
// lines.
func ParseCheckpoint(text string) (origin string, size uint64, root []byte, err error) {
	lines := strings.Split(text, "\n")
	if len(lines) < 4 || lines[len(lines)-1] != "" {
		return "", 0, nil, fmt.Errorf("checkpoint body %q: want an origin line, a tree size line and a root hash line, each ending in a newline", text)
	}
	origin = lines[0]
	if origin == "" {
		return "", 0, nil, errors.New("checkpoint: empty origin line")
	}
	size, err = strconv.ParseUint(lines[1], 10, 64)
	if err != nil || strconv.FormatUint(size, 10) != lines[1] {
		return "", 0, nil, fmt.Errorf("checkpoint: tree size line %q is not a decimal number", lines[1])
	}
	root, err = base64.StdEncoding.DecodeString(lines[2])
	if err != nil || len(root) != 32 || base64.StdEncoding.EncodeToString(root) != lines[2] {
		return "", 0, nil, fmt.Errorf("checkpoint: root hash line %q is not the base64 of 32 bytes", lines[2])
	}
	return origin, size, root, nil
}

// Check checks everything of p but the checkpoint's signature: the
// checkpoint's body, the tree size, the record's leaf hash and the
// inclusion path up to the checkpoint's root.
func (p *InclusionProof) Check() (*Verified, error) {
	origin, size, root, err := ParseCheckpoint(CheckpointText(p.Checkpoint))
	if err != nil {
		return nil, err
	}
	if size != p.TreeSize {
		return nil, fmt.Errorf("tree size: the proof says %d, its checkpoint %d: the proof was made for another checkpoint", p.TreeSize, size)
	}
	res := &Verified{Kind: p.Kind, LeafIndex: p.LeafIndex, TreeSize: size, Origin: origin, Root: root, Proof: p}
	var enc []byte
	switch {
	case p.Kind == KindEvents && p.Event != nil && p.Consent == nil:
		enc = p.Event.AppendLeaf(nil)
		res.ID, res.SubjectID, res.When = p.Event.EventID, p.Event.SubjectID, p.Event.OccurredAt
	case p.Kind == KindConsents && p.Consent != nil && p.Event == nil:
		enc = p.Consent.AppendLeaf(nil)
		res.ID, res.SubjectID, res.When = p.Consent.ConsentEventID, p.Consent.SubjectID, p.Consent.EffectiveAt
	default:
		return nil, fmt.Errorf("record: kind %q must come with exactly its record (access_event for events, consent_event for consents)", p.Kind)
	}
	leaf := LeafHash(enc)
	if hex.EncodeToString(leaf) != p.LeafHash {
		return nil, fmt.Errorf("leaf hash: the record hashes to %x, the proof names %s: the record differs from the one logged", leaf, p.LeafHash)
	}
	path := make([][]byte, len(p.InclusionPath))
	for i, h := range p.InclusionPath {
		b, err := hex.DecodeString(h)
		if err != nil || len(b) != 32 || hex.EncodeToString(b) != h {
			return nil, fmt.Errorf("inclusion path: hash %d %q is not 32 bytes of lowercase hex", i+1, h)
		}
		path[i] = b
	}
	if err := proof.VerifyInclusion(rfc6962.DefaultHasher, p.LeafIndex, size, leaf, path, root); err != nil {
		return nil, fmt.Errorf("inclusion: %v: the record, its leaf index or the path differs from the one logged under this checkpoint", err)
	}
	return res, nil
}
