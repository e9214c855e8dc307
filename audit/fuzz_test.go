package audit

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"
)

// addJSONSeeds seeds f with the test data files and the inputs of the
// validation test cases, as NDJSON and as arrays.
func addJSONSeeds(f *testing.F, file string, cases []decFailCase, valid string) {
	data, err := os.ReadFile(file)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(data)
	f.Add([]byte("[" + strings.ReplaceAll(strings.TrimSpace(string(data)), "\n", ",\n") + "]"))
	f.Add([]byte("\uFEFF" + valid + "\r\n\r\n" + valid))
	f.Add([]byte("[\n" + valid + ",\n" + valid + "\n]"))
	for _, c := range cases {
		f.Add([]byte(c.input))
		f.Add([]byte("[" + valid + "," + c.input + "]"))
	}
}

// checkDecoded checks the properties shared by both JSON fuzz targets:
// errors are *ValidationError with sane positions; accepted input is valid
// JSON; accepted records survive the binary codec unchanged.
func checkDecoded[T any](t *testing.T, data []byte, recs []T, err error, roundTrip func([]T) ([]T, error)) {
	if err != nil {
		var ve *ValidationError
		if !errors.As(err, &ve) || len(ve.Problems) == 0 || ve.BadRecords == 0 {
			t.Fatalf("error %v (%T), want a non-empty *ValidationError", err, err)
		}
		for _, p := range ve.Problems {
			if p.Line < 1 || p.Index < 0 || p.Line > bytes.Count(data, []byte("\n"))+1 {
				t.Fatalf("bad position in %+v", p)
			}
		}
		_ = ve.Error()
		return
	}
	body := bytes.TrimPrefix(data, []byte("\uFEFF"))
	if startsArray(string(body)) {
		if !json.Valid(body) {
			t.Fatalf("accepted invalid JSON %q", body)
		}
	} else {
		for _, line := range bytes.Split(body, []byte("\n")) {
			if len(bytes.TrimSpace(line)) > 0 && !json.Valid(line) {
				t.Fatalf("accepted invalid JSON line %q", line)
			}
		}
	}
	got, err := roundTrip(recs)
	if err != nil || !reflect.DeepEqual(got, recs) {
		t.Fatalf("binary round trip: %v\n got %+v\nwant %+v", err, got, recs)
	}
}

// stdlibRecords decodes accepted input with encoding/json, one map per
// record, for comparing string values.
func stdlibRecords(t *testing.T, data []byte) []map[string]any {
	body := bytes.TrimPrefix(data, []byte("\uFEFF"))
	var ms []map[string]any
	if startsArray(string(body)) {
		if err := json.Unmarshal(body, &ms); err != nil {
			t.Fatal(err)
		}
		return ms
	}
	for _, line := range bytes.Split(body, []byte("\n")) {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal(line, &m); err != nil {
			t.Fatal(err)
		}
		ms = append(ms, m)
	}
	return ms
}

// noControl fails if any string in v, an encoding/json value, or any of
// its object keys breaks the control-character rule: accepted input holds
// none, raw or escaped.
func noControl(t *testing.T, v any) {
	switch v := v.(type) {
	case string:
		if why := checkControl(v, false); why != "" {
			t.Fatalf("accepted %q: %s", v, why)
		}
	case []any:
		for _, e := range v {
			noControl(t, e)
		}
	case map[string]any:
		for k, e := range v {
			noControl(t, k)
			noControl(t, e)
		}
	}
}

// sameString fails unless the value of key in m is want (or absent and
// want is "").
func sameString(t *testing.T, m map[string]any, key, want string) {
	if v, _ := m[key].(string); v != want {
		t.Fatalf("%s: decoded %q, encoding/json %q", key, want, v)
	}
}

// sameAttributes compares decoded attributes with encoding/json's.
func sameAttributes(t *testing.T, m map[string]any, keys, values []string) {
	attrs, _ := m["attributes"].(map[string]any)
	if len(attrs) != len(keys) {
		t.Fatalf("attributes: %d keys, encoding/json %d", len(keys), len(attrs))
	}
	for i, k := range keys {
		if attrs[k] != values[i] || (i > 0 && keys[i-1] >= k) {
			t.Fatalf("attribute %q: %q, encoding/json %v", k, values[i], attrs[k])
		}
	}
}

func FuzzDecodeEvents(f *testing.F) {
	addJSONSeeds(f, "testdata/events.ndjson", eventFailCases(), evLine())
	var buf Buffer // reused across inputs, as the server reuses its buffers
	f.Fuzz(func(t *testing.T, data []byte) {
		evs, err := DecodeEvents(bytes.NewReader(data), decOpts)
		bevs, berr := buf.DecodeEvents(bytes.NewReader(data), decOpts)
		sameResult(t, evs, err, bevs, berr)
		checkDecoded(t, data, evs, err, func(evs []Event) ([]Event, error) {
			return DecodeEventsBinary(EncodeEvents(nil, evs))
		})
		if err != nil {
			return
		}
		for i, m := range stdlibRecords(t, data) {
			noControl(t, m)
			e := &evs[i]
			sameString(t, m, "actor_id", e.ActorID)
			sameString(t, m, "subject_id", e.SubjectID)
			sameString(t, m, "purpose", e.Purpose)
			sameString(t, m, "request_id", e.RequestID)
			if id := strings.ToLower(m["event_id"].(string)); id != e.EventID {
				t.Fatalf("event_id: decoded %q, encoding/json %q", e.EventID, id)
			}
			if cats := m["data_categories"].([]any); len(cats) != len(e.DataCategories) || cats[0] != e.DataCategories[0] {
				t.Fatalf("data_categories %q, encoding/json %q", e.DataCategories, cats)
			}
			sameAttributes(t, m, e.AttrKeys, e.AttrValues)
			if e.OccurredAt.After(decNow.Add(maxFuture)) || e.OccurredAt.Before(minTimestamp) {
				t.Fatalf("occurred_at %v out of bounds", e.OccurredAt)
			}
		}
	})
}

func FuzzDecodeConsents(f *testing.F) {
	addJSONSeeds(f, "testdata/consents.ndjson", consentFailCases(), coLine())
	var buf Buffer
	f.Fuzz(func(t *testing.T, data []byte) {
		cs, err := DecodeConsents(bytes.NewReader(data), decOpts)
		bcs, berr := buf.DecodeConsents(bytes.NewReader(data), decOpts)
		sameResult(t, cs, err, bcs, berr)
		checkDecoded(t, data, cs, err, func(cs []Consent) ([]Consent, error) {
			return DecodeConsentsBinary(EncodeConsents(nil, cs))
		})
		if err != nil {
			return
		}
		for i, m := range stdlibRecords(t, data) {
			noControl(t, m)
			c := &cs[i]
			sameString(t, m, "consent_id", c.ConsentID)
			sameString(t, m, "subject_id", c.SubjectID)
			sameString(t, m, "method", c.Method)
			sameAttributes(t, m, c.AttrKeys, c.AttrValues)
			if c.Status == "granted" && (len(c.Purposes) == 0 || len(c.DataCategories) == 0) {
				t.Fatalf("granted without scope: %+v", c)
			}
			if c.ExpiresAt != nil && !c.ExpiresAt.After(c.EffectiveAt) {
				t.Fatalf("expires_at %v not after effective_at %v", c.ExpiresAt, c.EffectiveAt)
			}
		}
	})
}

// The binary decoders must never panic, and must accept only the bytes
// the encoders produce (canonical form).
func FuzzBinaryEvents(f *testing.F) {
	f.Add(EncodeEvents(nil, nil))
	f.Add(EncodeEvents(nil, []Event{{}}))
	f.Add([]byte{1, 'E', 1})
	data, err := os.ReadFile("testdata/events.ndjson")
	if err != nil {
		f.Fatal(err)
	}
	if evs, err := DecodeEvents(bytes.NewReader(data), decOpts); err == nil {
		f.Add(EncodeEvents(nil, evs))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		evs, err := DecodeEventsBinary(data)
		if err == nil && !bytes.Equal(EncodeEvents(nil, evs), data) {
			t.Fatalf("accepted non-canonical input %x", data)
		}
		var e Event
		if rest, err := ReadEvent(data, &e); err == nil && !bytes.Equal(append(AppendEvent(nil, &e), rest...), data) {
			t.Fatalf("ReadEvent accepted non-canonical input %x", data)
		}
	})
}

func FuzzBinaryConsents(f *testing.F) {
	f.Add(EncodeConsents(nil, nil))
	f.Add(EncodeConsents(nil, []Consent{{}}))
	data, err := os.ReadFile("testdata/consents.ndjson")
	if err != nil {
		f.Fatal(err)
	}
	if cs, err := DecodeConsents(bytes.NewReader(data), decOpts); err == nil {
		f.Add(EncodeConsents(nil, cs))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		cs, err := DecodeConsentsBinary(data)
		if err == nil && !bytes.Equal(EncodeConsents(nil, cs), data) {
			t.Fatalf("accepted non-canonical input %x", data)
		}
		var c Consent
		if rest, err := ReadConsent(data, &c); err == nil && !bytes.Equal(append(AppendConsent(nil, &c), rest...), data) {
			t.Fatalf("ReadConsent accepted non-canonical input %x", data)
		}
	})
}
