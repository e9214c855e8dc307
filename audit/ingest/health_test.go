package ingest_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/privaudit/privaudit/audit"
	"github.com/privaudit/privaudit/audit/ingest/ingesttest"
)

// TestHealth: the intake's health counts the records accepted (through the
// API and privaudit's own Record), their rate over the last minute and the
// last acceptance, the rejected requests and records, and the spool's
// limit, per kind.
func TestHealth(t *testing.T) {
	env := ingesttest.Start(t, ingesttest.Options{SpoolMaxBytes: 64 << 20})
	before := time.Now()
	h := env.Ingestor.Health()
	if len(h.Kinds) != 2 || h.Kinds[0].Kind != audit.KindEvents || h.Kinds[0].Accepted != 0 || !h.Kinds[0].LastAccepted.IsZero() {
		t.Fatalf("health before any record: %+v", h)
	}
	at := time.Now().Add(-time.Hour)
	env.Ingest(t, audit.KindEvents, event(uuidN(1), at)+"\n"+event(uuidN(2), at)+"\n"+event(uuidN(2), at)+"\n")
	if code, _ := env.Post(t, audit.KindEvents, event(uuidN(3), at)+"\n"+`{"event_id":"x"}`+"\n"); code != http.StatusBadRequest {
		t.Fatalf("invalid request: %d, want 400", code)
	}
	if err := env.Ingestor.Record(context.Background(), audit.Event{EventID: "00000000-0000-4000-8000-00000000aaaa", OccurredAt: time.Now(),
		ActorID: "officer", ActorType: "employee", SubjectID: "privaudit:report", Action: "export", RecipientID: "privaudit",
		RecipientType: "internal", DataCategories: []string{"access_records"}, Purpose: "audit_report", LegalBasis: "legal_obligation", Outcome: "allowed"}); err != nil {
		t.Fatal(err)
	}
	h = env.Ingestor.Health()
	ev, cs := h.Kinds[0], h.Kinds[1]
	if ev.Accepted != 3 || ev.RejectedRequests != 1 || ev.RejectedRecords != 1 {
		t.Errorf("events: accepted %d, rejected %d requests %d records; want 3 (two posted, one duplicate skipped, one recorded), 1, 1",
			ev.Accepted, ev.RejectedRequests, ev.RejectedRecords)
	}
	if ev.LastAccepted.Before(before) || ev.PerSecond <= 0 || ev.SpoolMaxBytes != 64<<20 {
		t.Errorf("events: last accepted %s (test began %s), %v/s, spool limit %d", ev.LastAccepted, before, ev.PerSecond, ev.SpoolMaxBytes)
	}
	if cs.Accepted != 0 || cs.RejectedRequests != 0 || !cs.LastAccepted.IsZero() || cs.PerSecond != 0 {
		t.Errorf("consents: %+v, want nothing", cs)
	}
	if h.Since.After(before) {
		t.Errorf("since %s, after the test began %s", h.Since, before)
	}
}
