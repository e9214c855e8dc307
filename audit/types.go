// Package audit holds privaudit's domain — access events and consent events —
// and their intake: decoding and validation of the wire contract (SPEC §2),
// the HTTP ingest handlers, the durable spool, the batch writer and the
// managed local ClickHouse server.
package audit

import "time"

// Kind names one of the two record kinds privaudit ingests.
type Kind string

// The record kinds. Their values are used in URLs (/v1/events, /v1/consents),
// in spool directory names and in metric labels.
const (
	KindEvents   Kind = "events"
	KindConsents Kind = "consents"
)

// Event is one data-access event (SPEC §2.1). Optional fields the sender
// omitted hold their defaults once decoded: Outcome "allowed", RecordCount 1.
type Event struct {
	EventID        string
	OccurredAt     time.Time // UTC
	ActorID        string
	ActorType      string
	SubjectID      string
	Action         string
	DataCategories []string
	Fields         []string
	RecipientID    string
	RecipientType  string
	Purpose        string
	LegalBasis     string
	ConsentID      string
	Outcome        string
	RecordCount    uint64
	Channel        string
	Jurisdiction   string
	RequestID      string
	// Attributes are kept as parallel slices sorted by key, so the record has
	// one canonical form (ClickHouse 18.16 has no Map type either).
	AttrKeys   []string
	AttrValues []string
}

// Consent is one consent event (SPEC §2.2): a grant or a withdrawal of the
// consent ConsentID, effective from EffectiveAt.
type Consent struct {
	ConsentEventID string
	ConsentID      string
	SubjectID      string
	RecipientID    string
	Status         string
	Purposes       []string
	DataCategories []string
	EffectiveAt    time.Time  // UTC
	ExpiresAt      *time.Time // UTC; nil when the grant has no end
	Method         string
	NoticeVersion  string
	Jurisdiction   string
	ProofSHA256    string
	AttrKeys       []string
	AttrValues     []string
}

// Enumerations of SPEC §2.
var (
	ActorTypes     = []string{"service", "employee", "partner", "system", "subject"}
	Actions        = []string{"read", "share", "export", "transfer", "update", "delete"}
	RecipientTypes = []string{"internal", "processor", "affiliate", "third_party", "subject", "authority"}
	LegalBases     = []string{"consent", "contract", "legal_obligation", "vital_interests", "public_task", "legitimate_interests"}
	Outcomes       = []string{"allowed", "denied"}
	ConsentStatus  = []string{"granted", "withdrawn"}
)
