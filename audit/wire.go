package audit

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"
)

// wireEvent is the SPEC §2.1 JSON form of an Event.
type wireEvent struct {
	EventID        string            `json:"event_id"`
	OccurredAt     string            `json:"occurred_at"`
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
	Outcome        string            `json:"outcome,omitempty"`
	RecordCount    uint64            `json:"record_count"`
	Channel        string            `json:"channel,omitempty"`
	Jurisdiction   string            `json:"jurisdiction,omitempty"`
	RequestID      string            `json:"request_id,omitempty"`
	Attributes     map[string]string `json:"attributes,omitempty"`
}

// MarshalEventJSON returns e in its SPEC §2.1 wire form (one JSON object,
// no trailing newline).
func MarshalEventJSON(e *Event) ([]byte, error) {
	w := wireEvent{
		EventID: e.EventID, OccurredAt: e.OccurredAt.UTC().Format(time.RFC3339Nano), ActorID: e.ActorID,
		ActorType: e.ActorType, SubjectID: e.SubjectID, Action: e.Action, DataCategories: e.DataCategories,
		Fields: e.Fields, RecipientID: e.RecipientID, RecipientType: e.RecipientType, Purpose: e.Purpose,
		LegalBasis: e.LegalBasis, ConsentID: e.ConsentID, Outcome: e.Outcome, RecordCount: e.RecordCount,
		Channel: e.Channel, Jurisdiction: e.Jurisdiction, RequestID: e.RequestID,
	}
	if len(e.AttrKeys) != len(e.AttrValues) {
		return nil, fmt.Errorf("event %s: %d attribute keys but %d values", e.EventID, len(e.AttrKeys), len(e.AttrValues))
	}
	if len(e.AttrKeys) > 0 {
		w.Attributes = make(map[string]string, len(e.AttrKeys))
		for i, k := range e.AttrKeys {
			w.Attributes[k] = e.AttrValues[i]
		}
	}
	return json.Marshal(w)
}

// ValidateEvents checks events built in Go (not decoded from the wire)
// against exactly the SPEC §2 rules the decoder applies, by passing their
// wire form through it. It also normalises them as decoding does (sorted
// attributes, defaults). now is the clock for the future-timestamp rule.
func ValidateEvents(evs []Event, now time.Time) error {
	var buf bytes.Buffer
	for i := range evs {
		b, err := MarshalEventJSON(&evs[i])
		if err != nil {
			return err
		}
		buf.Write(b)
		buf.WriteByte('\n')
	}
	out, err := DecodeEvents(&buf, DecodeOptions{Now: func() time.Time { return now }})
	if err != nil {
		return err
	}
	copy(evs, out)
	return nil
}
