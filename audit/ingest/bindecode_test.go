package ingest

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/privaudit/privaudit/audit"
)

func testEvents(n int) []audit.Event {
	t0 := time.Date(2026, 10, 1, 12, 0, 0, 123456789, time.UTC)
	evs := make([]audit.Event, n)
	for i := range evs {
		e := &evs[i]
		e.EventID = fmt.Sprintf("00000000-0000-4000-8000-%012d", i)
		e.OccurredAt = t0.Add(time.Duration(i) * 1500 * time.Millisecond)
		e.ActorID, e.ActorType, e.SubjectID, e.Action = "svc-é", "service", fmt.Sprint("cust-", i), "share"
		e.RecipientID, e.RecipientType, e.Purpose, e.LegalBasis = "messenger", "third_party", "balance_inquiry", "consent"
		e.ConsentID, e.Outcome, e.RecordCount = "c-1", "allowed", uint64(i)*300
		e.Channel, e.Jurisdiction, e.RequestID = "api", "EU", ""
		if i%3 != 0 { // every third event has no arrays at all
			e.DataCategories = []string{"account_balance", fmt.Sprint("cat-", i)}
			e.Fields = []string{"iban"}
			e.AttrKeys, e.AttrValues = []string{"a", "b"}, []string{"1", ""}
		}
	}
	return evs
}

func testConsents(n int) []audit.Consent {
	t0 := time.Date(2026, 9, 1, 0, 0, 0, 5, time.UTC)
	cs := make([]audit.Consent, n)
	for i := range cs {
		c := &cs[i]
		c.ConsentEventID = fmt.Sprintf("00000000-0000-4000-8000-%012d", i)
		c.ConsentID, c.SubjectID, c.RecipientID, c.Status = "c-1", "cust-1", "messenger", "granted"
		c.Purposes = []string{"balance_inquiry"}
		c.EffectiveAt = t0.Add(time.Duration(i) * time.Hour)
		if i%2 == 1 {
			exp := c.EffectiveAt.Add(24 * time.Hour)
			c.ExpiresAt = &exp
			c.DataCategories = []string{"account_balance", "iban"}
		}
		c.Method, c.NoticeVersion, c.Jurisdiction = "app", "v3", "EU"
		c.ProofSHA256 = "ab"
		c.AttrKeys, c.AttrValues = []string{"k"}, []string{fmt.Sprint(i)}
	}
	return cs
}

// row returns row r of a as strings of their own (nil when empty).
func (a *arrCol) row(r int) []string {
	lo, hi := a.first(r), a.rows[r]
	if lo == hi {
		return nil
	}
	out := make([]string, 0, hi-lo)
	for i := lo; i < hi; i++ {
		out = append(out, a.elems.str(i))
	}
	return out
}

func decodeEventRows(t *testing.T, payloads ...[]byte) *eventRows {
	t.Helper()
	r := &eventRows{}
	for i, p := range payloads {
		if err := r.add(payload{seq: uint64(1000 * (i + 1)), records: p}); err != nil {
			t.Fatal(err)
		}
	}
	return r
}

// eventAt rebuilds event i from the columns.
func (r *eventRows) eventAt(i int) audit.Event {
	return audit.Event{EventID: r.eventID.str(i), OccurredAt: time.Unix(0, r.occurredNS[i]).UTC(),
		ActorID: r.actorID.str(i), ActorType: r.actorType.str(i), SubjectID: r.subjectID.str(i), Action: r.action.str(i),
		DataCategories: r.dataCategories.row(i), Fields: r.fields.row(i), RecipientID: r.recipientID.str(i),
		RecipientType: r.recipientType.str(i), Purpose: r.purpose.str(i), LegalBasis: r.legalBasis.str(i),
		ConsentID: r.consentID.str(i), Outcome: r.outcome.str(i), RecordCount: r.recordCount[i], Channel: r.channel.str(i),
		Jurisdiction: r.jurisdiction.str(i), RequestID: r.requestID.str(i), AttrKeys: r.attrKeys.row(i), AttrValues: r.attrValues.row(i)}
}

func (r *consentRows) consentAt(i int) audit.Consent {
	c := audit.Consent{ConsentEventID: r.consentEventID.str(i), ConsentID: r.consentID.str(i), SubjectID: r.subjectID.str(i),
		RecipientID: r.recipientID.str(i), Status: r.status.str(i), Purposes: r.purposes.row(i), DataCategories: r.dataCategories.row(i),
		EffectiveAt: time.Unix(0, r.effectiveNS[i]).UTC(), Method: r.method.str(i), NoticeVersion: r.noticeVersion.str(i),
		Jurisdiction: r.jurisdiction.str(i), ProofSHA256: r.proofSHA256.str(i), AttrKeys: r.attrKeys.row(i), AttrValues: r.attrValues.row(i)}
	if r.hasExpiry[i] == 1 {
		exp := time.Unix(0, r.expiresNS[i]).UTC()
		c.ExpiresAt = &exp
	} else if r.expiresNS[i] != 0 {
		c.ProofSHA256 = "expires_ns set without expiry"
	}
	return c
}

func sameEvent(a, b audit.Event) bool {
	return a.EventID == b.EventID && a.OccurredAt.Equal(b.OccurredAt) && a.ActorID == b.ActorID && a.ActorType == b.ActorType &&
		a.SubjectID == b.SubjectID && a.Action == b.Action && slices.Equal(a.DataCategories, b.DataCategories) &&
		slices.Equal(a.Fields, b.Fields) && a.RecipientID == b.RecipientID && a.RecipientType == b.RecipientType &&
		a.Purpose == b.Purpose && a.LegalBasis == b.LegalBasis && a.ConsentID == b.ConsentID && a.Outcome == b.Outcome &&
		a.RecordCount == b.RecordCount && a.Channel == b.Channel && a.Jurisdiction == b.Jurisdiction && a.RequestID == b.RequestID &&
		slices.Equal(a.AttrKeys, b.AttrKeys) && slices.Equal(a.AttrValues, b.AttrValues)
}

func sameConsent(a, b audit.Consent) bool {
	if (a.ExpiresAt == nil) != (b.ExpiresAt == nil) || (a.ExpiresAt != nil && !a.ExpiresAt.Equal(*b.ExpiresAt)) {
		return false
	}
	return a.ConsentEventID == b.ConsentEventID && a.ConsentID == b.ConsentID && a.SubjectID == b.SubjectID &&
		a.RecipientID == b.RecipientID && a.Status == b.Status && slices.Equal(a.Purposes, b.Purposes) &&
		slices.Equal(a.DataCategories, b.DataCategories) && a.EffectiveAt.Equal(b.EffectiveAt) && a.Method == b.Method &&
		a.NoticeVersion == b.NoticeVersion && a.Jurisdiction == b.Jurisdiction && a.ProofSHA256 == b.ProofSHA256 &&
		slices.Equal(a.AttrKeys, b.AttrKeys) && slices.Equal(a.AttrValues, b.AttrValues)
}

// TestBinDecoderMatchesAudit decodes batches written by the audit package's
// encoder into column buffers and compares every field of every record with
// the audit package's own decoder.
func TestBinDecoderMatchesAudit(t *testing.T) {
	evs := testEvents(50)
	p1, p2 := audit.EncodeEvents(nil, evs[:20]), audit.EncodeEvents(nil, evs[20:])
	r := decodeEventRows(t, p1, p2, audit.EncodeEvents(nil, nil))
	var want []audit.Event
	for _, p := range [][]byte{p1, p2} {
		got, err := audit.DecodeEventsBinary(p)
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, got...)
	}
	if r.len() != len(want) {
		t.Fatalf("decoded %d events, want %d", r.len(), len(want))
	}
	for i := range want {
		if got := r.eventAt(i); !sameEvent(got, want[i]) {
			t.Fatalf("event %d:\n got %+v\nwant %+v", i, got, want[i])
		}
	}
	if r.stamp.seq[0] != 1000 || r.stamp.seq[19] != 1019 || r.stamp.seq[20] != 2000 {
		t.Fatalf("ingest sequence %v…, want 1000… then 2000… per payload", r.stamp.seq[:21])
	}

	cs := testConsents(9)
	cr := &consentRows{}
	if err := cr.add(payload{seq: 1, records: audit.EncodeConsents(nil, cs)}); err != nil {
		t.Fatal(err)
	}
	wantCs, err := audit.DecodeConsentsBinary(audit.EncodeConsents(nil, cs))
	if err != nil {
		t.Fatal(err)
	}
	if cr.len() != len(wantCs) {
		t.Fatalf("decoded %d consents, want %d", cr.len(), len(wantCs))
	}
	for i := range wantCs {
		if got := cr.consentAt(i); !sameConsent(got, wantCs[i]) {
			t.Fatalf("consent %d:\n got %+v\nwant %+v", i, got, wantCs[i])
		}
	}
}

func TestBinDecoderRejectsCorruptBatches(t *testing.T) {
	good := audit.EncodeEvents(nil, testEvents(3))
	for n := 0; n < len(good); n++ {
		r := &eventRows{}
		if err := r.add(payload{records: good[:n]}); !errors.Is(err, errBinCorrupt) {
			t.Fatalf("truncated to %d of %d bytes: err %v, want errBinCorrupt", n, len(good), err)
		}
	}
	r := &eventRows{}
	if err := r.add(payload{records: append(slices.Clone(good), 0)}); !errors.Is(err, errBinCorrupt) {
		t.Fatalf("trailing byte: err %v", err)
	}
	other := slices.Clone(good)
	other[0] = binVersion + 1
	if err := r.add(payload{records: other}); err == nil {
		t.Fatal("unknown codec version accepted")
	}
	if err := (&consentRows{}).add(payload{records: good}); !errors.Is(err, errBinCorrupt) {
		t.Fatalf("events read as consents: err %v", err)
	}
	cs := audit.EncodeConsents(nil, testConsents(2))
	for n := 0; n < len(cs); n++ {
		if err := (&consentRows{}).add(payload{records: cs[:n]}); !errors.Is(err, errBinCorrupt) {
			t.Fatalf("consents truncated to %d of %d bytes: err %v", n, len(cs), err)
		}
	}
}

func TestKeepOnlyDropsWholeRecords(t *testing.T) {
	evs := testEvents(10)
	r := decodeEventRows(t, audit.EncodeEvents(nil, evs))
	keep := []bool{false, true, true, false, false, true, false, true, true, false}
	r.keepOnly(keep)
	var want []audit.Event
	for i, k := range keep {
		if k {
			want = append(want, evs[i])
		}
	}
	if r.len() != len(want) || len(r.fields.rows) != len(want) || len(r.occurredNS) != len(want) {
		t.Fatalf("kept %d records (%d array rows), want %d", r.len(), len(r.fields.rows), len(want))
	}
	for i := range want {
		if got := r.eventAt(i); !sameEvent(got, want[i]) {
			t.Fatalf("kept record %d:\n got %+v\nwant %+v", i, got, want[i])
		}
	}
	// Buffers are reused: a second batch decodes cleanly after reset.
	r.reset()
	r2 := decodeEventRows(t, audit.EncodeEvents(nil, evs[:2]))
	if err := r.add(payload{records: audit.EncodeEvents(nil, evs[:2])}); err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		if !sameEvent(r.eventAt(i), r2.eventAt(i)) {
			t.Fatalf("after reset, record %d differs", i)
		}
	}
}

func TestSecondsRoundsDown(t *testing.T) {
	in := []int64{0, 1, 999_999_999, 1_000_000_000, -1, -1_000_000_000, -1_000_000_001}
	got := seconds(nil, in)
	for i, ns := range in {
		if want := time.Unix(0, ns).Unix(); got[i] != want {
			t.Fatalf("seconds(%d) = %d, want %d", ns, got[i], want)
		}
	}
}
