package audit

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"
	"time"
)

// decNow is the clock of the tests: occurred_at may be up to 12:05.
var decNow = time.Date(2024, 6, 1, 12, 0, 0, 0, time.UTC)

var decOpts = DecodeOptions{Now: func() time.Time { return decNow }}

// jsonMember is one key and raw JSON value of a test record.
type jsonMember struct{ key, raw string }

var decBaseEvent = []jsonMember{
	{"event_id", `"0b7e9f3c-1d2a-4c5b-8e6f-7a8b9c0d1e2f"`},
	{"occurred_at", `"2024-03-01T12:00:00Z"`},
	{"actor_id", `"svc-alerts"`},
	{"actor_type", `"service"`},
	{"subject_id", `"cust-1"`},
	{"action", `"share"`},
	{"data_categories", `["account_balance"]`},
	{"recipient_id", `"messenger"`},
	{"recipient_type", `"third_party"`},
	{"purpose", `"fraud_alert"`},
	{"legal_basis", `"consent"`},
}

var decBaseConsent = []jsonMember{
	{"consent_event_id", `"9f8e7d6c-5b4a-4938-8271-605f4e3d2c1b"`},
	{"consent_id", `"cons-77"`},
	{"subject_id", `"cust-1"`},
	{"recipient_id", `"messenger"`},
	{"status", `"granted"`},
	{"purposes", `["fraud_alert"]`},
	{"data_categories", `["account_balance"]`},
	{"effective_at", `"2024-01-01T00:00:00Z"`},
}

// rec renders base as a one-line JSON object after applying kv (key, raw
// value pairs): an existing key gets the new value, "" removes it, a new
// key is appended.
func jsonRecord(base []jsonMember, kv ...string) string {
	ms := append([]jsonMember(nil), base...)
	for i := 0; i < len(kv); i += 2 {
		k, v, found := kv[i], kv[i+1], false
		for j := range ms {
			if ms[j].key == k {
				ms[j].raw, found = v, true
			}
		}
		if !found {
			ms = append(ms, jsonMember{k, v})
		}
	}
	var b strings.Builder
	b.WriteByte('{')
	for _, m := range ms {
		if m.raw == "" {
			continue
		}
		if b.Len() > 1 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "%q:%s", m.key, m.raw)
	}
	return b.String() + "}"
}

func evLine(kv ...string) string { return jsonRecord(decBaseEvent, kv...) }
func coLine(kv ...string) string { return jsonRecord(decBaseConsent, kv...) }

type decFailCase struct {
	name, input, field, reason string
}

func eventFailCases() []decFailCase {
	long := `"` + strings.Repeat("x", 1025) + `"`
	attrs33 := make([]string, 33)
	for i := range attrs33 {
		attrs33[i] = fmt.Sprintf(`"k%d":"v"`, i)
	}
	cases := []decFailCase{
		{"null required", evLine("actor_id", "null"), "actor_id", "required, got null"},
		{"uuid form", evLine("event_id", `"0b7e9f3c1d2a4c5b8e6f7a8b9c0d1e2f"`), "event_id", "not a UUID"},
		{"uuid hex", evLine("event_id", `"0b7e9f3c-1d2a-4c5b-8e6f-7a8b9c0d1e2g"`), "event_id", "not a UUID"},
		{"nil uuid", evLine("event_id", `"00000000-0000-0000-0000-000000000000"`), "event_id", "nil UUID"},
		{"uuid type", evLine("event_id", `42`), "event_id", "must be a string, got number"},
		{"timestamp", evLine("occurred_at", `"yesterday"`), "occurred_at", `not RFC 3339 timestamp: "yesterday"`},
		{"no offset", evLine("occurred_at", `"2024-03-01T12:00:00"`), "occurred_at", "not RFC 3339"},
		{"space", evLine("occurred_at", `"2024-03-01 12:00:00Z"`), "occurred_at", "not RFC 3339"},
		{"empty fraction", evLine("occurred_at", `"2024-03-01T12:00:00.Z"`), "occurred_at", "not RFC 3339"},
		{"bad offset", evLine("occurred_at", `"2024-03-01T12:00:00+2:00"`), "occurred_at", "not RFC 3339"},
		{"month", evLine("occurred_at", `"2024-13-01T12:00:00Z"`), "occurred_at", "month out of range"},
		{"day", evLine("occurred_at", `"2023-02-29T12:00:00Z"`), "occurred_at", "day out of range"},
		{"hour", evLine("occurred_at", `"2024-03-01T24:00:00Z"`), "occurred_at", "time of day out of range"},
		{"future", evLine("occurred_at", `"2024-06-01T12:05:00.000000001Z"`), "occurred_at", "more than 5 minutes in the future"},
		{"future offset", evLine("occurred_at", `"2024-06-01T13:06:00+01:00"`), "occurred_at", "in the future"},
		{"before 2000", evLine("occurred_at", `"1999-12-31T23:59:59Z"`), "occurred_at", "before 2000-01-01"},
		{"before 2000 offset", evLine("occurred_at", `"2000-01-01T00:30:00+01:00"`), "occurred_at", "before 2000-01-01"},
		{"empty", evLine("actor_id", `""`), "actor_id", "must not be empty"},
		{"too long", evLine("subject_id", long), "subject_id", "longer than 1024 bytes"},
		{"optional too long", evLine("consent_id", long), "consent_id", "longer than 1024 bytes"},
		{"bad utf-8", evLine("purpose", "\"ab\xffc\""), "purpose", "not valid UTF-8"},
		{"lone surrogate", evLine("purpose", `"a\ud800b"`), "purpose", "not valid UTF-8"},
		{"actor_type", evLine("actor_type", `"robot"`), "actor_type", `invalid value "robot"; want one of service`},
		{"action", evLine("action", `"Share"`), "action", "invalid value"},
		{"recipient_type", evLine("recipient_type", `"partner"`), "recipient_type", "invalid value"},
		{"legal_basis", evLine("legal_basis", `"consent "`), "legal_basis", "invalid value"},
		{"outcome", evLine("outcome", `"blocked"`), "outcome", "want one of allowed, denied"},
		{"enum type", evLine("action", `["read"]`), "action", "must be a string, got array"},
		{"categories empty", evLine("data_categories", `[]`), "data_categories", "at least one element"},
		{"categories type", evLine("data_categories", `"account_balance"`), "data_categories", "must be an array of strings, got string"},
		{"category type", evLine("data_categories", `["a",7]`), "data_categories[1]", "must be a string, got number"},
		{"category null", evLine("data_categories", `["a","b",null]`), "data_categories[2]", "got null"},
		{"category empty", evLine("data_categories", `[""]`), "data_categories[0]", "must not be empty"},
		{"category long", evLine("data_categories", `["a",`+long+`]`), "data_categories[1]", "longer than 1024"},
		{"fields element", evLine("fields", `[{}]`), "fields[0]", "must be a string, got object"},
		{"count float", evLine("record_count", `1.5`), "record_count", "must be an integer"},
		{"count exponent", evLine("record_count", `1e3`), "record_count", "must be an integer"},
		{"count negative", evLine("record_count", `-1`), "record_count", "must not be negative"},
		{"count range", evLine("record_count", `18446744073709551616`), "record_count", "out of range"},
		{"count type", evLine("record_count", `"5"`), "record_count", "must be an integer, got string"},
		{"channel type", evLine("channel", `true`), "channel", "must be a string, got boolean"},
		{"attributes type", evLine("attributes", `["a"]`), "attributes", "must be an object of strings, got array"},
		{"attributes many", evLine("attributes", "{"+strings.Join(attrs33, ",")+"}"), "attributes", "more than 32 keys (33)"},
		{"attribute key empty", evLine("attributes", `{"":"v"}`), "attributes", "key must not be empty"},
		{"attribute key long", evLine("attributes", `{`+long+`:"v"}`), "attributes", "key longer than 1024"},
		{"attribute key utf-8", evLine("attributes", "{\"\xff\":\"v\"}"), "attributes", "key not valid UTF-8"},
		{"attribute value", evLine("attributes", `{"n":1}`), "attributes.n", "must be a string, got number"},
		{"attribute null", evLine("attributes", `{"n":null}`), "attributes.n", "got null"},
		{"attribute value long", evLine("attributes", `{"n":"`+strings.Repeat("v", 4097)+`"}`), "attributes.n", "longer than 4096"},
		{"attribute duplicate", evLine("attributes", `{"b":"1","a":"2","b":"3"}`), "attributes.b", "duplicate key"},
		{"unknown field", evLine("recipient", `"x"`), "recipient", "unknown field"},
		{"unknown case", evLine("Event_ID", `"x"`), "Event_ID", "unknown field"},
		{"duplicate key", evLine("purpose", `"a","purpose":"b"`), "purpose", "duplicate key"},
		{"not object", `["a"]`, "", "expected a JSON object, got array"},
		{"string line", `"x"`, "", "expected a JSON object, got string"},
		{"trailing comma", `{"event_id":"x",}`, "", "invalid JSON at column 17"},
		{"unterminated", `{"event_id":"x`, "", "NDJSON record must be on one line"},
		{"garbage after", evLine() + ` {}`, "", "want end of line"},
		{"bad literal", evLine("channel", `nul`), "", "invalid JSON"},
		{"bad number", evLine("record_count", `01`), "", "invalid JSON"},
		{"bad escape", evLine("purpose", `"a\x"`), "", "invalid escape"},
		{"control char", evLine("purpose", "\"a\tb\""), "purpose", "control character U+0009 at byte 1"},
		{"raw NUL", evLine("actor_id", "\"a\x00b\""), "actor_id", "control character U+0000"},
		{"escaped NUL", evLine("subject_id", `"cust\u0000"`), "subject_id", "control character U+0000 at byte 4"},
		{"escaped US", evLine("recipient_id", `"\u001f"`), "recipient_id", "control character U+001F"},
		{"escaped VT", evLine("request_id", `"a\u000bb"`), "request_id", "control character U+000B"},
		{"raw CR", evLine("attributes", "{\"sql\":\"a\rb\"}"), "attributes.sql", "raw control character U+000D"},
		{"raw DEL", evLine("channel", "\"a\x7f\""), "channel", "control character U+007F"},
		{"C1 NEL", evLine("jurisdiction", `"EU\u0085"`), "jurisdiction", "control character U+0085"},
		{"escaped NUL in array", evLine("data_categories", `["ok","x\u0000"]`), "data_categories[1]", "control character U+0000"},
		{"escaped NUL in fields", evLine("fields", `["a\u0000"]`), "fields[0]", "control character U+0000"},
		{"escaped NUL in attribute", evLine("attributes", `{"k":"v\u0000"}`), "attributes.k", "control character U+0000"},
		{"escaped NUL in attribute key", evLine("attributes", `{"k\u0000":"v"}`), "attributes", "key control character U+0000"},
		{"escaped NUL in enum", evLine("action", `"read\u0000"`), "action", "control character U+0000"},
	}
	for _, m := range decBaseEvent {
		cases = append(cases, decFailCase{"missing " + m.key, evLine(m.key, ""), m.key, "required field missing"})
	}
	return cases
}

func consentFailCases() []decFailCase {
	cases := []decFailCase{
		{"uuid", coLine("consent_event_id", `"nope"`), "consent_event_id", "not a UUID"},
		{"escaped NUL", coLine("consent_id", `"c\u0000"`), "consent_id", "control character U+0000"},
		{"raw US", coLine("method", "\"web\x1f\""), "method", "control character U+001F"},
		{"escaped NUL in purposes", coLine("purposes", `["x\u0000"]`), "purposes[0]", "control character U+0000"},
		{"escaped NUL in notice", coLine("notice_version", `"\u0000"`), "notice_version", "control character U+0000"},
		{"status", coLine("status", `"revoked"`), "status", `invalid value "revoked"; want one of granted, withdrawn`},
		{"granted no purposes", coLine("purposes", ""), "purposes", "required when status is granted"},
		{"granted null categories", coLine("data_categories", "null"), "data_categories", "required when status is granted"},
		{"granted empty purposes", coLine("purposes", "[]"), "purposes", "at least one element when status is granted"},
		{"withdrawn bad purpose", coLine("status", `"withdrawn"`, "purposes", `[""]`), "purposes[0]", "must not be empty"},
		{"expires before", coLine("expires_at", `"2023-12-31T00:00:00Z"`), "expires_at", "must be after effective_at"},
		{"expires equal", coLine("expires_at", `"2024-01-01T01:00:00+01:00"`), "expires_at", "must be after effective_at"},
		{"expires format", coLine("expires_at", `"2024-01-01"`), "expires_at", "not RFC 3339"},
		{"effective before 2000", coLine("effective_at", `"1970-01-01T00:00:00Z"`), "effective_at", "before 2000-01-01"},
		{"effective too late", coLine("effective_at", `"9999-12-31T23:59:59Z"`), "effective_at", "after 2261-12-31"},
		{"proof short", coLine("proof_sha256", `"abc"`), "proof_sha256", "not a SHA-256 digest"},
		{"proof hex", coLine("proof_sha256", `"`+strings.Repeat("g", 64)+`"`), "proof_sha256", "64 hex digits"},
		{"method empty ok but long", coLine("method", `"`+strings.Repeat("m", 1025)+`"`), "method", "longer than 1024"},
		{"unknown", coLine("purpose", `["x"]`), "purpose", "unknown field"},
		{"attributes", coLine("attributes", `{"a":["b"]}`), "attributes.a", "must be a string, got array"},
	}
	for _, m := range decBaseConsent[:5] {
		cases = append(cases, decFailCase{"missing " + m.key, coLine(m.key, ""), m.key, "required field missing"})
	}
	cases = append(cases, decFailCase{"missing effective_at", coLine("effective_at", ""), "effective_at", "required field missing"})
	return cases
}

// checkDecodeFail decodes a valid line, a blank line and the case's input, and
// checks that the case's problem is reported on line 3, index 1.
func checkDecodeFail(t *testing.T, c decFailCase, decode func(string) (int, error)) {
	t.Helper()
	n, err := decode(evLine() + "\n\n" + c.input + "\n")
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("got %d records, error %v; want a *ValidationError", n, err)
	}
	for _, p := range ve.Problems {
		if p.Line == 3 && p.Index == 1 && p.Field == c.field && strings.Contains(p.Reason, c.reason) {
			if len(p.Reason) > 200 {
				t.Errorf("reason too long (%d bytes): %s", len(p.Reason), p.Reason)
			}
			return
		}
	}
	t.Errorf("no problem {line 3, index 1, field %q, reason ~%q} in %v", c.field, c.reason, ve.Problems)
}

func TestDecodeEventsRejects(t *testing.T) {
	for _, c := range eventFailCases() {
		t.Run(c.name, func(t *testing.T) {
			checkDecodeFail(t, c, func(in string) (int, error) {
				evs, err := DecodeEvents(strings.NewReader(in), decOpts)
				return len(evs), err
			})
		})
	}
}

func TestDecodeConsentsRejects(t *testing.T) {
	for _, c := range consentFailCases() {
		t.Run(c.name, func(t *testing.T) {
			checkDecodeFail(t, c, func(in string) (int, error) {
				in = strings.Replace(in, evLine(), coLine(), 1) // first line: a valid consent
				cs, err := DecodeConsents(strings.NewReader(in), decOpts)
				return len(cs), err
			})
		})
	}
}

func decProblemLines(t *testing.T, err error) (lines, indexes []int) {
	t.Helper()
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("error %v, want a *ValidationError", err)
	}
	for _, p := range ve.Problems {
		lines, indexes = append(lines, p.Line), append(indexes, p.Index)
	}
	return lines, indexes
}

func TestDecodeEventsListsEveryBadRecord(t *testing.T) {
	bad := evLine("action", `"steal"`)
	ndjson := strings.Join([]string{evLine(), bad, "", evLine(), bad, `{"event_id":`, "  \t", bad, evLine()}, "\n")
	_, err := DecodeEvents(strings.NewReader(ndjson), decOpts)
	lines, idx := decProblemLines(t, err)
	if want := []int{2, 5, 6, 8}; !reflect.DeepEqual(lines, want) {
		t.Errorf("NDJSON lines %v, want %v", lines, want)
	}
	if want := []int{1, 3, 4, 5}; !reflect.DeepEqual(idx, want) {
		t.Errorf("NDJSON indexes %v, want %v", idx, want)
	}
	if ve := err.(*ValidationError); ve.BadRecords != 4 {
		t.Errorf("BadRecords = %d, want 4", ve.BadRecords)
	}

	pretty := strings.ReplaceAll(bad, `,"`, ",\n  \"") // 11 lines
	array := "[\n" + evLine() + ",\n" + pretty + ",\n\n" + evLine() + ",\n" + pretty + "\n]\n"
	_, err = DecodeEvents(strings.NewReader(array), decOpts)
	lines, idx = decProblemLines(t, err)
	if want := []int{3, 16}; !reflect.DeepEqual(lines, want) {
		t.Errorf("array lines %v, want %v", lines, want)
	}
	if want := []int{1, 3}; !reflect.DeepEqual(idx, want) {
		t.Errorf("array indexes %v, want %v", idx, want)
	}

	// Malformed JSON in an array is reported where it is, and ends decoding.
	_, err = DecodeEvents(strings.NewReader("[\n"+evLine()+",\n"+bad+",\n{\"a\" 1},\n"+bad+"]"), decOpts)
	lines, _ = decProblemLines(t, err)
	if want := []int{3, 4}; !reflect.DeepEqual(lines, want) {
		t.Errorf("malformed array lines %v, want %v", lines, want)
	}
}

func TestValidationErrorMessage(t *testing.T) {
	in := evLine() + "\n" + evLine() + "\n" + evLine("occurred_at", `"yesterday"`)
	_, err := DecodeEvents(strings.NewReader(in), decOpts)
	want := `line 3: field "occurred_at": not RFC 3339 timestamp: "yesterday"`
	if err == nil || err.Error() != want {
		t.Fatalf("error %q, want %q", err, want)
	}
	secret := strings.Repeat("s", 500)
	_, err = DecodeEvents(strings.NewReader(evLine("actor_type", `"`+secret+`"`)), decOpts)
	if err == nil || strings.Contains(err.Error(), secret[:100]) || !strings.Contains(err.Error(), "500 bytes") {
		t.Errorf("error does not truncate the value: %v", err)
	}
}

func TestDecodeProblemCap(t *testing.T) {
	in := strings.Repeat(evLine("action", `"x"`, "purpose", `""`)+"\n", 600)
	_, err := DecodeEvents(strings.NewReader(in), decOpts)
	var ve *ValidationError
	if !errors.As(err, &ve) || len(ve.Problems) != MaxProblems || ve.Omitted != 200 || ve.BadRecords != 600 {
		t.Fatalf("got %v", err)
	}
	if !strings.HasSuffix(ve.Error(), "; and 1190 more problems") {
		t.Errorf("message %q", ve.Error())
	}
}

func TestDecodeMaxRecords(t *testing.T) {
	in := strings.Repeat(evLine()+"\n", 3)
	if evs, err := DecodeEvents(strings.NewReader(in), DecodeOptions{Now: decOpts.Now, MaxRecords: 3}); err != nil || len(evs) != 3 {
		t.Fatalf("at the limit: %d events, %v", len(evs), err)
	}
	_, err := DecodeEvents(strings.NewReader(in+"\n"+evLine()), DecodeOptions{Now: decOpts.Now, MaxRecords: 3})
	lines, idx := decProblemLines(t, err)
	if !reflect.DeepEqual(lines, []int{5}) || !reflect.DeepEqual(idx, []int{3}) || !strings.Contains(err.Error(), "too many records") {
		t.Errorf("over the limit: %v", err)
	}
}

func TestDecodeReadError(t *testing.T) {
	boom := errors.New("boom")
	_, err := DecodeEvents(iotest.ErrReader(boom), decOpts)
	var ve *ValidationError
	if !errors.Is(err, boom) || errors.As(err, &ve) {
		t.Errorf("got %v, want the wrapped read error", err)
	}
}

func TestDecodeEventsAccepts(t *testing.T) {
	f, err := os.Open("testdata/events.ndjson")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	evs, err := DecodeEvents(f, decOpts)
	if err != nil || len(evs) != 3 {
		t.Fatalf("%d events, %v", len(evs), err)
	}
	e0, e1, e2 := evs[0], evs[1], evs[2]
	if e0.Outcome != "allowed" || e0.RecordCount != 1 || e0.Fields != nil || e0.AttrKeys != nil || e0.ConsentID != "cons-77" {
		t.Errorf("defaults not applied: %+v", e0)
	}
	if e1.EventID != "1c2d3e4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f" || e1.Outcome != "denied" || e1.RecordCount != 0 {
		t.Errorf("event 1: %+v", e1)
	}
	if want := time.Date(2024, 3, 1, 12, 30, 0, 123456000, time.UTC); !e1.OccurredAt.Equal(want) || e1.OccurredAt.Location() != time.UTC {
		t.Errorf("occurred_at %v, want %v in UTC", e1.OccurredAt, want)
	}
	if !reflect.DeepEqual(e1.AttrKeys, []string{"app", "ticket"}) || !reflect.DeepEqual(e1.AttrValues, []string{"crm", "T-9"}) {
		t.Errorf("attributes not sorted: %v %v", e1.AttrKeys, e1.AttrValues)
	}
	if !reflect.DeepEqual(e1.DataCategories, []string{"contact_details", "card_transactions"}) || !reflect.DeepEqual(e1.Fields, []string{"email", "phone"}) {
		t.Errorf("arrays: %v %v", e1.DataCategories, e1.Fields)
	}
	if want := time.Date(2024, 1, 1, 4, 59, 59, 900000000, time.UTC); !e2.OccurredAt.Equal(want) {
		t.Errorf("occurred_at %v, want %v", e2.OccurredAt, want)
	}
	if e2.SubjectID != "café 😀" || e2.RecordCount != 250000 || e2.ConsentID != "" || e2.AttrKeys != nil {
		t.Errorf("event 2: %+v", e2)
	}
}

// TestDecodeKeepsEscapedLineBreaks: tab, LF and CR sent escaped are the
// control characters a string may hold (multi-line free text such as an
// audited SQL statement), and come back unescaped.
func TestDecodeKeepsEscapedLineBreaks(t *testing.T) {
	evs, err := DecodeEvents(strings.NewReader(evLine("attributes", `{"sql":"SELECT 1\n\tFROM t\r\n"}`)+"\n"), decOpts)
	if err != nil || len(evs) != 1 {
		t.Fatalf("%d events, %v", len(evs), err)
	}
	if got := evs[0].AttrValues; len(got) != 1 || got[0] != "SELECT 1\n\tFROM t\r\n" {
		t.Fatalf("attribute sql = %q", got)
	}
}

func TestDecodeEventsForms(t *testing.T) {
	one := evLine("occurred_at", `"2024-06-01t12:05:00z"`, "record_count", "-0", "request_id", `""`)
	for name, in := range map[string]string{
		"crlf":       one + "\r\n" + one + "\r\n\r\n",
		"bom":        "\uFEFF" + one + "\n" + one,
		"array":      " \r\n[ " + one + " ,\n\t" + one + "\n]\n",
		"array crlf": "[" + strings.ReplaceAll(one, ",", ",\r\n") + ",\r\n" + one + "]",
	} {
		evs, err := DecodeEvents(strings.NewReader(in), decOpts)
		if err != nil || len(evs) != 2 || evs[0].RecordCount != 0 || !evs[1].OccurredAt.Equal(decNow.Add(5*time.Minute)) {
			t.Errorf("%s: %d events, %v", name, len(evs), err)
		}
	}
	for _, in := range []string{"", "\n\n  \n", "[]", " [ \n ] \n"} {
		if evs, err := DecodeEvents(strings.NewReader(in), decOpts); evs != nil || err != nil {
			t.Errorf("%q: %v, %v; want nil, nil", in, evs, err)
		}
	}
}

func TestDecodeConsentsAccepts(t *testing.T) {
	f, err := os.Open("testdata/consents.ndjson")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cs, err := DecodeConsents(f, decOpts)
	if err != nil || len(cs) != 2 {
		t.Fatalf("%d consents, %v", len(cs), err)
	}
	if c := cs[0]; c.ExpiresAt == nil || !c.ExpiresAt.Equal(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)) ||
		c.ProofSHA256 != "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08" {
		t.Errorf("consent 0: %+v", c)
	}
	if c := cs[1]; c.ExpiresAt != nil || c.Purposes != nil || c.DataCategories != nil ||
		!c.EffectiveAt.Equal(time.Date(2024, 6, 1, 8, 30, 0, 250000000, time.UTC)) {
		t.Errorf("consent 1: %+v", c)
	}
	far := coLine("effective_at", `"2200-01-01T00:00:00Z"`, "expires_at", "null", "method", `""`)
	if cs, err := DecodeConsents(strings.NewReader(far), decOpts); err != nil || cs[0].ExpiresAt != nil {
		t.Errorf("future effective_at, null expires_at: %v", err)
	}
}

func TestParseTimeMatchesTimePackage(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for range 20000 {
		ts := time.Unix(rng.Int64N(1<<34)-1<<33, rng.Int64N(1e9))
		zone := time.FixedZone("", (rng.IntN(47)-23)*3600+rng.IntN(4)*15*60)
		s := ts.In(zone).Format(time.RFC3339Nano)
		got, _, ok := parseRFC3339(s)
		want, err := time.Parse(time.RFC3339Nano, s)
		if !ok || err != nil || !got.Equal(want) || got.Location() != time.UTC {
			t.Fatalf("%s: got %v %v, want %v %v", s, got, ok, want, err)
		}
	}
	if got, _, _ := parseRFC3339("2024-01-01T00:00:00.1234567899-00:00"); got.Nanosecond() != 123456789 {
		t.Errorf("fraction beyond nanoseconds: %v", got)
	}
}

// benchWireEvent is an event as a sender marshals it, for generating input.
type benchWireEvent struct {
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
	RecordCount    *uint64           `json:"record_count,omitempty"`
	Channel        string            `json:"channel,omitempty"`
	Jurisdiction   string            `json:"jurisdiction,omitempty"`
	RequestID      string            `json:"request_id,omitempty"`
	Attributes     map[string]string `json:"attributes,omitempty"`
}

// genEventsNDJSON returns n realistic events as NDJSON.
func genEventsNDJSON(n int) []byte {
	rng := rand.New(rand.NewPCG(7, 8))
	pick := func(s ...string) string { return s[rng.IntN(len(s))] }
	var b []byte
	for i := range n {
		w := benchWireEvent{
			EventID:       fmt.Sprintf("%08x-%04x-4%03x-8%03x-%012x", rng.Uint32(), rng.IntN(1<<16), rng.IntN(1<<12), rng.IntN(1<<12), rng.Int64N(1<<48)),
			OccurredAt:    decNow.Add(-time.Duration(rng.Int64N(int64(90 * 24 * time.Hour)))).Format(time.RFC3339Nano),
			ActorID:       pick("svc-fraud-alerts", "svc-balance-api", "emp-1042", "partner-visa", "batch-export"),
			ActorType:     pick(ActorTypes...),
			SubjectID:     fmt.Sprintf("cust-%08d", rng.IntN(1_000_000)),
			Action:        pick(Actions...),
			RecipientID:   pick("messenger-platform", "internal", "card-network", "analytics-co"),
			RecipientType: pick(RecipientTypes...),
			Purpose:       pick("fraud_alert", "balance_inquiry", "advertising", "support"),
			LegalBasis:    pick(LegalBases...),
			Channel:       pick("api", "messenger", "batch_file"),
			RequestID:     fmt.Sprintf("req-%d", i),
		}
		w.DataCategories = []string{pick("account_balance", "card_transactions", "contact_details")}
		if i%2 == 0 {
			w.DataCategories = append(w.DataCategories, "card_transactions")
			w.Fields = []string{"balance", "currency"}
			w.ConsentID = fmt.Sprintf("cons-%06d", rng.IntN(100000))
			w.Jurisdiction = "US-NY"
		}
		if i%3 == 0 {
			c := uint64(rng.IntN(1000))
			w.RecordCount = &c
			w.Attributes = map[string]string{"app_version": "5.2.1", "session": fmt.Sprint(rng.Uint32())}
		}
		line, err := json.Marshal(w)
		if err != nil {
			panic(err)
		}
		b = append(append(b, line...), '\n')
	}
	return b
}

func BenchmarkDecodeEvents(b *testing.B) {
	const n = 10000
	data := genEventsNDJSON(n)
	if evs, err := DecodeEvents(bytes.NewReader(data), decOpts); err != nil || len(evs) != n {
		b.Fatalf("%d events, %v", len(evs), err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeEvents(bytes.NewReader(data), decOpts); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64(len(data))/n, "bytes/event")
}

// BenchmarkDecodeEventsBuffer is BenchmarkDecodeEvents reusing one Buffer,
// as the server does from request to request.
func BenchmarkDecodeEventsBuffer(b *testing.B) {
	const n = 10000
	data := genEventsNDJSON(n)
	var buf Buffer
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if evs, err := buf.DecodeEvents(bytes.NewReader(data), decOpts); err != nil || len(evs) != n {
			b.Fatal(len(evs), err)
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkDecodeEventsStdlib is the encoding/json baseline (decoding
// only, no validation) for comparison.
func BenchmarkDecodeEventsStdlib(b *testing.B) {
	const n = 10000
	data := genEventsNDJSON(n)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.DisallowUnknownFields()
		for {
			var w benchWireEvent
			if err := dec.Decode(&w); err != nil {
				if err == io.EOF {
					break
				}
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// TestDecodeKeyOrderPrediction: the decoder guesses each key from the
// previous record's order; records in other orders, with escaped keys,
// unknown or repeated keys decode (and fail) exactly as they do alone.
func TestDecodeKeyOrderPrediction(t *testing.T) {
	base := `"occurred_at":"2026-10-01T12:00:00Z","actor_id":"svc","actor_type":"service","subject_id":"c1","action":"share",` +
		`"data_categories":["account_balance"],"recipient_id":"m","recipient_type":"third_party","purpose":"p","legal_basis":"consent"`
	lines := []string{
		`{"event_id":"00000000-0000-4000-8000-000000000001",` + base + `}`,
		`{"event_id":"00000000-0000-4000-8000-000000000002",` + base + `}`,
		`{` + base + `,"event_id":"00000000-0000-4000-8000-000000000003"}`,
		`{"event\u005fid":"00000000-0000-4000-8000-000000000004",` + base + `}`,
		`{"event_id" : "00000000-0000-4000-8000-000000000005",` + base + `}`,
		`{"event_idx":"00000000-0000-4000-8000-000000000006",` + base + `}`,
		`{"event_id":"00000000-0000-4000-8000-000000000007","event_id":"00000000-0000-4000-8000-000000000008",` + base + `}`,
		`{"event_id""00000000-0000-4000-8000-000000000009",` + base + `}`,
		`{"event_id":"00000000-0000-4000-8000-000000000010",` + base + `}`,
	}
	decode := func(src string) ([]Event, []Problem) {
		evs, err := DecodeEvents(strings.NewReader(src), DecodeOptions{})
		var ve *ValidationError
		if errors.As(err, &ve) {
			return nil, ve.Problems
		} else if err != nil {
			t.Fatal(err)
		}
		return evs, nil
	}
	// Alone, each line is line 1; together, line i+1.
	var wantOK []Event
	var wantProblems []Problem
	for i, l := range lines {
		evs, probs := decode(l)
		wantOK = append(wantOK, evs...)
		for _, p := range probs {
			p.Line, p.Index = i+1, i
			wantProblems = append(wantProblems, p)
		}
	}
	if len(wantOK) != 6 || len(wantProblems) < 3 {
		t.Fatalf("alone: %d valid, problems %v; want 6 valid (lines 1–5 and 9) and problems on lines 6–8", len(wantOK), wantProblems)
	}
	_, got := decode(strings.Join(lines, "\n"))
	if !reflect.DeepEqual(got, wantProblems) {
		t.Fatalf("together: problems\n%v\nwant\n%v", got, wantProblems)
	}
	valid := append(append([]string{}, lines[:5]...), lines[8])
	evs, probs := decode(strings.Join(valid, "\n"))
	if probs != nil || len(evs) != 6 {
		t.Fatalf("valid lines together: %d events, problems %v", len(evs), probs)
	}
	for i, id := range []string{"1", "2", "3", "4", "5", "10"} {
		if want := "00000000-0000-4000-8000-" + strings.Repeat("0", 12-len(id)) + id; evs[i].EventID != want || evs[i].Purpose != "p" {
			t.Fatalf("event %d: %+v", i, evs[i])
		}
	}
}

// TestScrubText: what ScrubText returns is accepted by the rule it serves.
func TestScrubText(t *testing.T) {
	for in, want := range map[string]string{
		"SELECT 1\n\t-- ok\r\n":  "SELECT 1\n\t-- ok\r\n",
		"a\x00b\x0bc\u0085d\x7f": "a\uFFFDb\uFFFDc\uFFFDd\uFFFD",
		"bad \xff utf8":          "bad \uFFFD utf8",
	} {
		got := ScrubText(in)
		if got != want || CheckText(got) != nil {
			t.Errorf("ScrubText(%q) = %q (CheckText %v), want %q", in, got, CheckText(got), want)
		}
	}
}
