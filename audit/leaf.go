package audit

import (
	"crypto/sha256"
	"encoding/binary"
	"time"

	"github.com/transparency-dev/merkle/rfc6962"
)

// LeafMagic opens every leaf encoding; it names the format and its version.
const LeafMagic = "privaudit-leaf-v1\n"

// StoredEvent is one row of access_events, every column, as stored.
//
// Its canonical encoding (AppendLeaf) is the leaf data of the log; the
// leaf hash is RFC 6962's SHA-256(0x00 || encoding). A verifier recomputes
// it from the table's columns alone:
//
//	LeafMagic, then the table name as a string, then each column in the
//	table's column order:
//	  String        uint32 big-endian byte length, then the bytes
//	  Array(String) uint32 big-endian element count, then each element as a String
//	  Int64/UInt64  8 bytes big-endian (Int64 two's complement)
//	  UInt8         1 byte
//	  DateTime      uint32 big-endian Unix seconds
//
// audit/testdata/leaf_vectors.txt holds a test vector of each kind.
type StoredEvent struct {
	EventID        string    `ch:"event_id" json:"event_id"`
	OccurredAt     time.Time `ch:"occurred_at" json:"occurred_at"`
	OccurredNS     int64     `ch:"occurred_ns" json:"occurred_ns"`
	ActorID        string    `ch:"actor_id" json:"actor_id"`
	ActorType      string    `ch:"actor_type" json:"actor_type"`
	SubjectID      string    `ch:"subject_id" json:"subject_id"`
	Action         string    `ch:"action" json:"action"`
	DataCategories []string  `ch:"data_categories" json:"data_categories"`
	Fields         []string  `ch:"fields" json:"fields"`
	RecipientID    string    `ch:"recipient_id" json:"recipient_id"`
	RecipientType  string    `ch:"recipient_type" json:"recipient_type"`
	Purpose        string    `ch:"purpose" json:"purpose"`
	LegalBasis     string    `ch:"legal_basis" json:"legal_basis"`
	ConsentID      string    `ch:"consent_id" json:"consent_id"`
	Outcome        string    `ch:"outcome" json:"outcome"`
	RecordCount    uint64    `ch:"record_count" json:"record_count"`
	Channel        string    `ch:"channel" json:"channel"`
	Jurisdiction   string    `ch:"jurisdiction" json:"jurisdiction"`
	RequestID      string    `ch:"request_id" json:"request_id"`
	AttrKeys       []string  `ch:"attr_keys" json:"attr_keys"`
	AttrValues     []string  `ch:"attr_values" json:"attr_values"`
	IngestedAt     time.Time `ch:"ingested_at" json:"ingested_at"`
	IngestSeq      uint64    `ch:"ingest_seq" json:"ingest_seq"`
	BatchID        string    `ch:"batch_id" json:"batch_id"`
}

// AppendLeaf appends the canonical encoding of e (see StoredEvent) to dst.
func (e *StoredEvent) AppendLeaf(dst []byte) []byte {
	dst = AppendLeafHeader(dst, "access_events")
	dst = leafStr(dst, e.EventID)
	dst = leafTime(dst, e.OccurredAt)
	dst = binary.BigEndian.AppendUint64(dst, uint64(e.OccurredNS))
	for _, s := range []string{e.ActorID, e.ActorType, e.SubjectID, e.Action} {
		dst = leafStr(dst, s)
	}
	dst = leafStrs(leafStrs(dst, e.DataCategories), e.Fields)
	for _, s := range []string{e.RecipientID, e.RecipientType, e.Purpose, e.LegalBasis, e.ConsentID, e.Outcome} {
		dst = leafStr(dst, s)
	}
	dst = binary.BigEndian.AppendUint64(dst, e.RecordCount)
	for _, s := range []string{e.Channel, e.Jurisdiction, e.RequestID} {
		dst = leafStr(dst, s)
	}
	dst = leafStrs(leafStrs(dst, e.AttrKeys), e.AttrValues)
	dst = leafTime(dst, e.IngestedAt)
	dst = binary.BigEndian.AppendUint64(dst, e.IngestSeq)
	return leafStr(dst, e.BatchID)
}

// StoredConsent is one row of consent_events, every column, as stored; its
// canonical encoding follows the rules of StoredEvent.
type StoredConsent struct {
	ConsentEventID string    `ch:"consent_event_id" json:"consent_event_id"`
	ConsentID      string    `ch:"consent_id" json:"consent_id"`
	SubjectID      string    `ch:"subject_id" json:"subject_id"`
	RecipientID    string    `ch:"recipient_id" json:"recipient_id"`
	Status         string    `ch:"status" json:"status"`
	Purposes       []string  `ch:"purposes" json:"purposes"`
	DataCategories []string  `ch:"data_categories" json:"data_categories"`
	EffectiveAt    time.Time `ch:"effective_at" json:"effective_at"`
	EffectiveNS    int64     `ch:"effective_ns" json:"effective_ns"`
	HasExpiry      uint8     `ch:"has_expiry" json:"has_expiry"`
	ExpiresAt      time.Time `ch:"expires_at" json:"expires_at"`
	ExpiresNS      int64     `ch:"expires_ns" json:"expires_ns"`
	Method         string    `ch:"method" json:"method"`
	NoticeVersion  string    `ch:"notice_version" json:"notice_version"`
	Jurisdiction   string    `ch:"jurisdiction" json:"jurisdiction"`
	ProofSHA256    string    `ch:"proof_sha256" json:"proof_sha256"`
	AttrKeys       []string  `ch:"attr_keys" json:"attr_keys"`
	AttrValues     []string  `ch:"attr_values" json:"attr_values"`
	IngestedAt     time.Time `ch:"ingested_at" json:"ingested_at"`
	IngestSeq      uint64    `ch:"ingest_seq" json:"ingest_seq"`
	BatchID        string    `ch:"batch_id" json:"batch_id"`
}

// AppendLeaf appends the canonical encoding of c (see StoredEvent) to dst.
func (c *StoredConsent) AppendLeaf(dst []byte) []byte {
	dst = AppendLeafHeader(dst, "consent_events")
	for _, s := range []string{c.ConsentEventID, c.ConsentID, c.SubjectID, c.RecipientID, c.Status} {
		dst = leafStr(dst, s)
	}
	dst = leafStrs(leafStrs(dst, c.Purposes), c.DataCategories)
	dst = leafTime(dst, c.EffectiveAt)
	dst = binary.BigEndian.AppendUint64(dst, uint64(c.EffectiveNS))
	dst = append(dst, c.HasExpiry)
	dst = leafTime(dst, c.ExpiresAt)
	dst = binary.BigEndian.AppendUint64(dst, uint64(c.ExpiresNS))
	for _, s := range []string{c.Method, c.NoticeVersion, c.Jurisdiction, c.ProofSHA256} {
		dst = leafStr(dst, s)
	}
	dst = leafStrs(leafStrs(dst, c.AttrKeys), c.AttrValues)
	dst = leafTime(dst, c.IngestedAt)
	dst = binary.BigEndian.AppendUint64(dst, c.IngestSeq)
	return leafStr(dst, c.BatchID)
}

// LeafHash is the RFC 6962 leaf hash of a canonical encoding.
func LeafHash(encoding []byte) []byte { return rfc6962.DefaultHasher.HashLeaf(encoding) }

// LeafHasher computes the leaf hashes of records (LeafHash of their
// AppendLeaf encoding) in one reused buffer, allocating nothing per
// record. A LeafHasher is not safe for concurrent use.
type LeafHasher struct{ buf []byte }

// Event returns the leaf hash of e.
func (h *LeafHasher) Event(e *StoredEvent) [sha256.Size]byte {
	h.buf = e.AppendLeaf(append(h.buf[:0], rfc6962.RFC6962LeafHashPrefix))
	return sha256.Sum256(h.buf)
}

// Consent returns the leaf hash of c.
func (h *LeafHasher) Consent(c *StoredConsent) [sha256.Size]byte {
	h.buf = c.AppendLeaf(append(h.buf[:0], rfc6962.RFC6962LeafHashPrefix))
	return sha256.Sum256(h.buf)
}

// AppendLeafHeader appends what opens the canonical encoding of a row of
// table: LeafMagic, then the table's name as a String.
func AppendLeafHeader(dst []byte, table string) []byte {
	return leafStr(append(dst, LeafMagic...), table)
}

// AppendLeafString appends s as the canonical encoding holds a String: its
// uint32 big-endian byte length, then its bytes.
func AppendLeafString[T string | []byte](dst []byte, s T) []byte {
	return append(binary.BigEndian.AppendUint32(dst, uint32(len(s))), s...)
}

// AppendLeafCount appends an Array's element count as the canonical
// encoding holds it, before the elements: uint32 big-endian.
func AppendLeafCount(dst []byte, n int) []byte {
	return binary.BigEndian.AppendUint32(dst, uint32(n))
}

func leafStr(dst []byte, s string) []byte { return AppendLeafString(dst, s) }

func leafStrs(dst []byte, ss []string) []byte {
	dst = AppendLeafCount(dst, len(ss))
	for _, s := range ss {
		dst = leafStr(dst, s)
	}
	return dst
}

func leafTime(dst []byte, t time.Time) []byte {
	return binary.BigEndian.AppendUint32(dst, uint32(t.Unix()))
}
