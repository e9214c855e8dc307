package ingest_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/privaudit/privaudit/audit"
	"github.com/privaudit/privaudit/audit/ingest/ingesttest"
)

// consentLine returns one valid consent line with the given id.
func consentLine(id string) string {
	return fmt.Sprintf(`{"consent_event_id":%q,"consent_id":"cons-1","subject_id":"cust-1","recipient_id":"messenger",`+
		`"status":"granted","purposes":["fraud_alert"],"data_categories":["account_balance"],"effective_at":"2024-01-01T00:00:00Z","method":"web"}`, id)
}

// TestIngestRefusesControlCharacters sends control characters, escaped and
// raw, in string fields, array elements and attributes of both record
// kinds: each request is refused whole with 400, naming line and field,
// and no row reaches ClickHouse.
func TestIngestRefusesControlCharacters(t *testing.T) {
	env := ingesttest.Start(t, ingesttest.Options{})
	ev := func(n int, old, new string) string {
		line := strings.TrimSpace(events(n, 1))
		if !strings.Contains(line, old) {
			t.Fatalf("no %q in %s", old, line)
		}
		return strings.Replace(line, old, new, 1)
	}
	type want struct {
		line  int
		field string
	}
	cases := []struct {
		name string
		kind audit.Kind
		body string
		want []want
	}{
		{"escaped", audit.KindEvents, strings.Join([]string{
			ev(1, `"actor_id":"svc-balance"`, `"actor_id":"svc\u0000balance"`),
			ev(2, `"data_categories":["account_balance"]`, `"data_categories":["account_balance","x\u001f"]`),
			ev(3, `"consent_id":"c-1"`, `"consent_id":"c-1","attributes":{"note":"a\u0000"}`),
			ev(4, `"purpose":"balance_inquiry"`, `"purpose":"balance\u000binquiry"`),
		}, "\n"), []want{{1, "actor_id"}, {2, "data_categories[1]"}, {3, "attributes.note"}, {4, "purpose"}}},
		{"escaped only NUL", audit.KindEvents, ev(5, `"subject_id":"cust-1"`, `"subject_id":"cust-1\u0000"`),
			[]want{{1, "subject_id"}}},
		{"raw", audit.KindEvents, ev(6, `"recipient_id":"messenger"`, "\"recipient_id\":\"mess\x00enger\"") + "\n" +
			ev(7, `"purpose":"balance_inquiry"`, "\"purpose\":\"balance\x1finquiry\""),
			[]want{{1, "recipient_id"}, {2, "purpose"}}},
		{"consents", audit.KindConsents, consentLine(uuidN(8)) + "\n" +
			strings.Replace(consentLine(uuidN(9)), `"subject_id":"cust-1"`, `"subject_id":"cust-1\u0000"`, 1) + "\n" +
			strings.Replace(consentLine(uuidN(10)), `"purposes":["fraud_alert"]`, `"purposes":["fraud\u001falert"]`, 1),
			[]want{{2, "subject_id"}, {3, "purposes[0]"}}},
	}
	for _, c := range cases {
		code, body := env.Post(t, c.kind, c.body)
		if code != http.StatusBadRequest {
			t.Errorf("%s: status %d, want 400: %s", c.name, code, body)
			continue
		}
		var er struct {
			Error struct {
				Details struct {
					Problems []audit.Problem `json:"problems"`
				} `json:"details"`
			} `json:"error"`
		}
		if err := json.Unmarshal([]byte(body), &er); err != nil {
			t.Fatal(err)
		}
		got := map[want]bool{}
		for _, p := range er.Error.Details.Problems {
			if strings.Contains(p.Reason, "control character") {
				got[want{p.Line, p.Field}] = true
			}
		}
		for _, w := range c.want {
			if !got[w] {
				t.Errorf("%s: no control-character problem on line %d, field %q in %+v", c.name, w.line, w.field, er.Error.Details.Problems)
			}
		}
	}
	// Anything accepted would be stored by now, before this sentinel.
	env.Ingest(t, audit.KindEvents, events(100, 1))
	if n := env.Count(t, "SELECT count() FROM privaudit.access_events"); n != 1 {
		t.Errorf("raw access_events rows %d, want only the sentinel's 1", n)
	}
	if n := env.Count(t, "SELECT count() FROM privaudit.consent_events"); n != 0 {
		t.Errorf("raw consent_events rows %d, want 0", n)
	}
}
