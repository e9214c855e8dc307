package synth

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"regexp"
	"slices"
	"testing"
	"time"
)

var testNow = time.Date(2026, 3, 14, 9, 30, 0, 0, time.UTC)

func generate(t testing.TB, opts Options) (events, consents []byte, st Stats) {
	t.Helper()
	var ev, cs bytes.Buffer
	st, err := Generate(context.Background(), opts, &ev, &cs)
	if err != nil {
		t.Fatal(err)
	}
	return ev.Bytes(), cs.Bytes(), st
}

func smallOptions(seed uint64) Options {
	return Options{Seed: seed, Customers: 2000, Events: 50000, Now: testNow}
}

func TestDeterministic(t *testing.T) {
	e1, c1, _ := generate(t, smallOptions(7))
	e2, c2, _ := generate(t, smallOptions(7))
	if !bytes.Equal(e1, e2) || !bytes.Equal(c1, c2) {
		t.Fatal("same seed and options gave different output")
	}
	e3, c3, _ := generate(t, smallOptions(8))
	if bytes.Equal(e1, e3) || bytes.Equal(c1, c3) {
		t.Fatal("different seeds gave the same output")
	}
}

func TestDefaultPeriod(t *testing.T) {
	o, err := Options{Now: testNow}.normalize()
	if err != nil {
		t.Fatal(err)
	}
	if want := time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC); !o.From.Equal(want) {
		t.Errorf("From = %v, want %v", o.From, want)
	}
	if want := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC); !o.To.Equal(want) {
		t.Errorf("To = %v, want %v", o.To, want)
	}
	if o.Customers != 20000 || o.Events != 200000 {
		t.Errorf("defaults = %d customers, %d events", o.Customers, o.Events)
	}
	if _, err := (Options{From: testNow, To: testNow, Now: testNow}).normalize(); err == nil {
		t.Error("empty period accepted")
	}
}

func TestCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := Generate(ctx, smallOptions(1), io.Discard, io.Discard)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

var (
	uuidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	tsRE   = regexp.MustCompile(`"(occurred_at|effective_at|expires_at)":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"`)
	enums  = map[string][]string{
		"actor_type":     {"service", "employee", "partner", "system", "subject"},
		"action":         {"read", "share", "export", "transfer", "update", "delete"},
		"recipient_type": {"internal", "processor", "affiliate", "third_party", "subject", "authority"},
		"legal_basis":    {"consent", "contract", "legal_obligation", "vital_interests", "public_task", "legitimate_interests"},
	}
)

// lines calls fn for each NDJSON line of b, checking it is valid JSON
// whose timestamps have the expected form.
func lines(t *testing.T, b []byte, fn func(line []byte)) {
	t.Helper()
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Bytes()
		if !json.Valid(line) {
			t.Fatalf("invalid JSON: %s", line)
		}
		if !tsRE.Match(line) {
			t.Fatalf("timestamp not RFC 3339 UTC with milliseconds: %s", line)
		}
		fn(line)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
}

func strictDecode(t *testing.T, line []byte, v any) {
	t.Helper()
	d := json.NewDecoder(bytes.NewReader(line))
	d.DisallowUnknownFields()
	if err := d.Decode(v); err != nil {
		t.Fatalf("%v: %s", err, line)
	}
}

func TestWireFormat(t *testing.T) {
	opts := smallOptions(3)
	evs, cons, st := generate(t, opts)
	o, _ := opts.normalize()
	ids := map[string]bool{}
	unique := func(id string) {
		if !uuidRE.MatchString(id) || ids[id] {
			t.Fatalf("id %q malformed or repeated", id)
		}
		ids[id] = true
	}
	nc := 0
	lines(t, cons, func(line []byte) {
		var c WireConsent
		strictDecode(t, line, &c)
		unique(c.ConsentEventID)
		nc++
		if c.ConsentID == "" || c.SubjectID == "" || c.RecipientID == "" || c.EffectiveAt.After(o.Now) {
			t.Fatalf("bad consent: %s", line)
		}
		if c.Status == "granted" && (len(c.Purposes) == 0 || len(c.DataCategories) == 0) ||
			c.Status != "granted" && c.Status != "withdrawn" ||
			c.ExpiresAt != nil && !c.ExpiresAt.After(c.EffectiveAt) || len(c.ProofSHA256) != 64 {
			t.Fatalf("bad consent: %s", line)
		}
	})
	var last time.Time
	ne := 0
	lines(t, evs, func(line []byte) {
		var e WireEvent
		var raw map[string]any
		strictDecode(t, line, &e)
		strictDecode(t, line, &raw)
		unique(e.EventID)
		ne++
		for field, allowed := range enums {
			if !slices.Contains(allowed, raw[field].(string)) {
				t.Fatalf("%s %v not allowed: %s", field, raw[field], line)
			}
		}
		if e.OccurredAt.Before(last) || e.OccurredAt.Before(o.From) || !e.OccurredAt.Before(o.To) {
			t.Fatalf("occurred_at out of order or period: %s", line)
		}
		last = e.OccurredAt
		if e.ActorID == "" || e.SubjectID == "" || e.RecipientID == "" || e.Purpose == "" ||
			len(e.DataCategories) == 0 || len(e.Attributes) > 32 || e.Attributes["synth_expect"] == "" {
			t.Fatalf("bad event: %s", line)
		}
	})
	if ne != st.Events || nc != st.Consents || ne != opts.Events {
		t.Fatalf("lines: %d events, %d consents; stats %+v", ne, nc, st)
	}
}

func TestEscaping(t *testing.T) {
	for _, s := range []string{"plain", `q"b\s`, "ctl\x00\x1f\n\t\r", "ünï€😀", "bad\xff\xfe", "sep\u2028\u2029"} {
		b := appendJSONString(nil, s)
		var got string
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatalf("%q → %s: %v", s, b, err)
		}
		want := string(bytes.ToValidUTF8([]byte(s), []byte("\uFFFD")))
		if s == "bad\xff\xfe" {
			want = "bad\uFFFD\uFFFD"
		}
		if got != want {
			t.Errorf("%q → %s → %q", s, b, got)
		}
	}
}

func TestTimestamp(t *testing.T) {
	var f tsFormatter
	for _, tm := range []time.Time{
		time.Date(2000, 2, 29, 23, 59, 59, 999e6, time.UTC),
		time.Date(2026, 12, 31, 0, 0, 0, 1e6, time.UTC),
		time.Date(1999, 1, 1, 12, 30, 5, 0, time.UTC),
		testNow,
	} {
		got := string(f.appendTimestamp(nil, tm.UnixMilli()))
		if want := tm.Format("2006-01-02T15:04:05.000Z"); got != want {
			t.Errorf("got %s, want %s", got, want)
		}
	}
}
