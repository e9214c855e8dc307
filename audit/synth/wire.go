package synth

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/privaudit/privaudit/audit"
)

// WireEvent is an access event as it appears on the wire (SPEC §2.1).
type WireEvent struct {
	EventID        string            `json:"event_id"`
	OccurredAt     time.Time         `json:"occurred_at"`
	ActorID        string            `json:"actor_id"`
	ActorType      string            `json:"actor_type"`
	SubjectID      string            `json:"subject_id"`
	Action         string            `json:"action"`
	DataCategories []string          `json:"data_categories"`
	Fields         []string          `json:"fields,omitempty"`
	RecipientID    string            `json:"recipient_id"`
	RecipientType  string            `json:"recipient_type"`
	Purpose        string            `json:"purpose"`
	LegalBasis     string            `json:"legal_basis"`
	ConsentID      string            `json:"consent_id,omitempty"`
	Outcome        string            `json:"outcome,omitempty"` // "" means allowed
	RecordCount    *uint64           `json:"record_count,omitempty"`
	Channel        string            `json:"channel,omitempty"`
	Jurisdiction   string            `json:"jurisdiction,omitempty"`
	RequestID      string            `json:"request_id,omitempty"`
	Attributes     map[string]string `json:"attributes,omitempty"`
}

// WireConsent is a consent event as it appears on the wire (SPEC §2.2).
type WireConsent struct {
	ConsentEventID string            `json:"consent_event_id"`
	ConsentID      string            `json:"consent_id"`
	SubjectID      string            `json:"subject_id"`
	RecipientID    string            `json:"recipient_id"`
	Status         string            `json:"status"`
	Purposes       []string          `json:"purposes,omitempty"`
	DataCategories []string          `json:"data_categories,omitempty"`
	EffectiveAt    time.Time         `json:"effective_at"`
	ExpiresAt      *time.Time        `json:"expires_at,omitempty"`
	Method         string            `json:"method,omitempty"`
	NoticeVersion  string            `json:"notice_version,omitempty"`
	Jurisdiction   string            `json:"jurisdiction,omitempty"`
	ProofSHA256    string            `json:"proof_sha256,omitempty"`
	Attributes     map[string]string `json:"attributes,omitempty"`
}

// Event returns w as the domain's access event, with the defaults the
// intake applies (outcome allowed, record_count 1) and times in UTC.
func (w *WireEvent) Event() audit.Event {
	e := audit.Event{EventID: w.EventID, OccurredAt: w.OccurredAt.UTC(), ActorID: w.ActorID, ActorType: w.ActorType,
		SubjectID: w.SubjectID, Action: w.Action, DataCategories: w.DataCategories, Fields: w.Fields,
		RecipientID: w.RecipientID, RecipientType: w.RecipientType, Purpose: w.Purpose, LegalBasis: w.LegalBasis,
		ConsentID: w.ConsentID, Outcome: w.Outcome, RecordCount: 1, Channel: w.Channel,
		Jurisdiction: w.Jurisdiction, RequestID: w.RequestID}
	if e.Outcome == "" {
		e.Outcome = "allowed"
	}
	if w.RecordCount != nil {
		e.RecordCount = *w.RecordCount
	}
	e.AttrKeys, e.AttrValues = sortedAttributes(w.Attributes)
	return e
}

// Consent returns w as the domain's consent event, times in UTC.
func (w *WireConsent) Consent() audit.Consent {
	c := audit.Consent{ConsentEventID: w.ConsentEventID, ConsentID: w.ConsentID, SubjectID: w.SubjectID,
		RecipientID: w.RecipientID, Status: w.Status, Purposes: w.Purposes, DataCategories: w.DataCategories,
		EffectiveAt: w.EffectiveAt.UTC(), Method: w.Method, NoticeVersion: w.NoticeVersion,
		Jurisdiction: w.Jurisdiction, ProofSHA256: w.ProofSHA256}
	if w.ExpiresAt != nil {
		t := w.ExpiresAt.UTC()
		c.ExpiresAt = &t
	}
	c.AttrKeys, c.AttrValues = sortedAttributes(w.Attributes)
	return c
}

// Consents returns ws as the domain's consent events, in order.
func Consents(ws []WireConsent) []audit.Consent {
	out := make([]audit.Consent, len(ws))
	for i := range ws {
		out[i] = ws[i].Consent()
	}
	return out
}

func sortedAttributes(m map[string]string) (keys, values []string) {
	if len(m) == 0 {
		return nil, nil
	}
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	values = make([]string, len(keys))
	for i, k := range keys {
		values[i] = m[k]
	}
	return keys, values
}

// ReadConsents decodes a stream of JSON consent events (NDJSON), in order,
// rejecting unknown fields.
func ReadConsents(r io.Reader) ([]WireConsent, error) {
	var out []WireConsent
	err := decodeAll(r, func(d *json.Decoder) error {
		var c WireConsent
		if err := d.Decode(&c); err != nil {
			return err
		}
		out = append(out, c)
		return nil
	})
	return out, err
}

// ScanEvents decodes a stream of JSON access events (NDJSON) and calls fn
// for each, in order, rejecting unknown fields. It stops at fn's first error.
func ScanEvents(r io.Reader, fn func(*WireEvent) error) error {
	return decodeAll(r, func(d *json.Decoder) error {
		var e WireEvent
		if err := d.Decode(&e); err != nil {
			return err
		}
		return fn(&e)
	})
}

// decodeAll calls one until the stream ends.
func decodeAll(r io.Reader, one func(*json.Decoder) error) error {
	d := json.NewDecoder(r)
	d.DisallowUnknownFields()
	for n := 1; ; n++ {
		if !d.More() {
			if _, err := d.Token(); errors.Is(err, io.EOF) {
				return nil
			}
			return fmt.Errorf("synth: record %d: trailing data", n)
		}
		if err := one(d); err != nil {
			return fmt.Errorf("synth: record %d: %w", n, err)
		}
	}
}
