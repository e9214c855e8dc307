package audit

import (
	"bytes"
	"errors"
	"os"
	"reflect"
	"testing"
	"time"
)

func loadTestEvents(t testing.TB) []Event {
	t.Helper()
	data, err := os.ReadFile("testdata/events.ndjson")
	if err != nil {
		t.Fatal(err)
	}
	evs, err := DecodeEvents(bytes.NewReader(data), decOpts)
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

func loadTestConsents(t testing.TB) []Consent {
	t.Helper()
	data, err := os.ReadFile("testdata/consents.ndjson")
	if err != nil {
		t.Fatal(err)
	}
	cs, err := DecodeConsents(bytes.NewReader(data), decOpts)
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

func TestEventsBinaryRoundTrip(t *testing.T) {
	evs := loadTestEvents(t)
	enc := EncodeEvents([]byte("prefix"), evs)[len("prefix"):]
	got, err := DecodeEventsBinary(enc)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, evs) {
		t.Fatalf("round trip:\n got %+v\nwant %+v", got, evs)
	}
	if again := EncodeEvents(nil, got); !bytes.Equal(again, enc) {
		t.Error("re-encoding the decoded batch gives different bytes")
	}

	// Record by record.
	var recs []byte
	for i := range evs {
		recs = AppendEvent(recs, &evs[i])
	}
	if !bytes.Equal(recs, enc[3:]) {
		t.Error("AppendEvent differs from the records of EncodeEvents")
	}
	for i := range evs {
		var e Event
		if recs, err = ReadEvent(recs, &e); err != nil || !reflect.DeepEqual(e, evs[i]) {
			t.Fatalf("ReadEvent %d: %v %+v", i, err, e)
		}
	}
	if len(recs) != 0 {
		t.Errorf("%d bytes left", len(recs))
	}
}

func TestConsentsBinaryRoundTrip(t *testing.T) {
	cs := loadTestConsents(t)
	enc := EncodeConsents(nil, cs)
	got, err := DecodeConsentsBinary(enc)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, cs) || got[0].ExpiresAt == nil || got[1].ExpiresAt != nil {
		t.Fatalf("round trip:\n got %+v\nwant %+v", got, cs)
	}
	var c Consent
	rest, err := ReadConsent(enc[3:], &c)
	if err != nil || !reflect.DeepEqual(c, cs[0]) {
		t.Fatalf("ReadConsent: %v %+v", err, c)
	}
	if _, err = ReadConsent(rest, &c); err != nil || !reflect.DeepEqual(c, cs[1]) {
		t.Fatalf("ReadConsent: %v %+v", err, c)
	}
}

// Empty slices encode like nil ones and decode as nil, so that a record
// has exactly one binary form.
func TestBinaryEmptySlicesDecodeAsNil(t *testing.T) {
	e := Event{
		EventID: "x", OccurredAt: time.Date(2024, 1, 2, 3, 4, 5, 6, time.FixedZone("", 3600)),
		DataCategories: []string{}, Fields: []string{}, AttrKeys: []string{}, AttrValues: []string{},
	}
	enc := AppendEvent(nil, &e)
	e2 := e
	e2.DataCategories, e2.Fields, e2.AttrKeys, e2.AttrValues = nil, nil, nil, nil
	if !bytes.Equal(enc, AppendEvent(nil, &e2)) {
		t.Error("empty and nil slices encode differently")
	}
	var got Event
	if _, err := ReadEvent(enc, &got); err != nil {
		t.Fatal(err)
	}
	if got.DataCategories != nil || got.Fields != nil || got.AttrKeys != nil || got.AttrValues != nil {
		t.Errorf("empty slices decoded as non-nil: %+v", got)
	}
	if !got.OccurredAt.Equal(e.OccurredAt) || got.OccurredAt.Location() != time.UTC {
		t.Errorf("time %v, want %v in UTC", got.OccurredAt, e.OccurredAt)
	}
	if evs, err := DecodeEventsBinary(EncodeEvents(nil, []Event{})); evs != nil || err != nil {
		t.Errorf("empty batch: %v %v", evs, err)
	}
}

func TestBinaryRejectsCorruptInput(t *testing.T) {
	evs := loadTestEvents(t)
	enc := EncodeEvents(nil, evs)
	for n := range len(enc) {
		if _, err := DecodeEventsBinary(enc[:n]); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("batch truncated to %d bytes: %v", n, err)
		}
	}
	rec := AppendEvent(nil, &evs[1])
	for n := range len(rec) {
		e := evs[0]
		if _, err := ReadEvent(rec[:n], &e); !errors.Is(err, ErrCorrupt) || !reflect.DeepEqual(e, Event{}) {
			t.Fatalf("record truncated to %d bytes: %v, %+v", n, err, e)
		}
	}
	cenc := EncodeConsents(nil, loadTestConsents(t))
	mutate := func(b []byte, i int, v byte) []byte {
		b = bytes.Clone(b)
		b[i] = v
		return b
	}
	checks := []struct {
		name string
		err  error
		do   func() error
	}{
		{"version", ErrBinaryVersion, func() error { _, err := DecodeEventsBinary(mutate(enc, 0, 2)); return err }},
		{"kind", ErrCorrupt, func() error { _, err := DecodeEventsBinary(cenc); return err }},
		{"trailing", ErrCorrupt, func() error { _, err := DecodeEventsBinary(append(bytes.Clone(enc), 0)); return err }},
		{"count", ErrCorrupt, func() error { _, err := DecodeEventsBinary([]byte{1, 'E', 0xff, 0xff, 0xff, 0xff, 0x0f}); return err }},
		{"non-minimal", ErrCorrupt, func() error { _, err := DecodeEventsBinary([]byte{1, 'E', 0x80, 0x00}); return err }},
		{"presence", ErrCorrupt, func() error {
			c := Consent{ConsentEventID: "x"}
			b := AppendConsent(nil, &c)
			_, err := ReadConsent(mutate(b, 2+4+2+8, 2), &c)
			return err
		}},
		{"string length", ErrCorrupt, func() error { _, err := ReadEvent([]byte{0x10, 'a'}, &Event{}); return err }},
	}
	for _, c := range checks {
		if err := c.do(); !errors.Is(err, c.err) {
			t.Errorf("%s: got %v, want %v", c.name, err, c.err)
		}
	}
}

func BenchmarkEncodeEvents(b *testing.B) {
	evs, err := DecodeEvents(bytes.NewReader(genEventsNDJSON(10000)), decOpts)
	if err != nil {
		b.Fatal(err)
	}
	var buf []byte
	b.ReportAllocs()
	for b.Loop() {
		buf = EncodeEvents(buf[:0], evs)
	}
	b.SetBytes(int64(len(buf)))
	b.ReportMetric(float64(len(evs))*float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

func BenchmarkDecodeEventsBinary(b *testing.B) {
	evs, err := DecodeEvents(bytes.NewReader(genEventsNDJSON(10000)), decOpts)
	if err != nil {
		b.Fatal(err)
	}
	buf := EncodeEvents(nil, evs)
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeEventsBinary(buf); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(evs))*float64(b.N)/b.Elapsed().Seconds(), "events/s")
}
