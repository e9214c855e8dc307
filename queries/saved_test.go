package queries

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

func TestSavedLibrary(t *testing.T) {
	all, err := Saved()
	if err != nil {
		t.Fatal(err)
	}
	if len(all) < 5 {
		t.Fatalf("only %d saved queries, want at least 5", len(all))
	}
	for _, q := range all {
		if q.Title == "" || q.Description == "" {
			t.Errorf("%s: no title or description", q.Name)
		}
		sql, err := q.SQL(DefaultSchema)
		if err != nil {
			t.Fatalf("%s: %v", q.Name, err)
		}
		if strings.Contains(sql, "{{") || !strings.Contains(sql, "privaudit.") || strings.HasPrefix(sql, "--") {
			t.Errorf("%s: badly rendered SQL:\n%s", q.Name, sql)
		}
		if strings.Contains(sql, DefaultSchema.MetaDB) {
			t.Errorf("%s: reads privaudit's bookkeeping", q.Name)
		}
		if _, err := CheckStatement(sql); err != nil {
			t.Errorf("%s: %v", q.Name, err)
		}
	}
	q, err := LookupSaved("shares-after-withdrawal")
	if err != nil {
		t.Fatal(err)
	}
	if len(q.Params) != 5 || q.Params[0].Name != "since" || !q.Params[0].Required || q.Params[2].Required {
		t.Errorf("shares-after-withdrawal params = %+v", q.Params)
	}
	_, err = LookupSaved("nope")
	if KindOf(err) != ErrNotFound || !strings.Contains(err.Error(), "shares-after-withdrawal") {
		t.Errorf("LookupSaved(nope) = %v, want not_found listing the saved queries", err)
	}
}

const testSaved = `-- title: Test
-- description: A test query
--   on two lines.
-- param: since Date            first day
-- param: who String = ''       optional name
-- param: n UInt64 = 5
-- param: delta Int64
-- param: f Float64 = 1.5
-- param: at DateTime
SELECT @who, @n, @delta, @f, @at FROM {{.DB}}.access_events WHERE occurred_at >= @since AND '@not' = '@n'
`

func TestParseSaved(t *testing.T) {
	q, err := parseSaved("test", testSaved)
	if err != nil {
		t.Fatal(err)
	}
	if q.Description != "A test query on two lines." || len(q.Params) != 6 {
		t.Fatalf("parsed %+v", q)
	}
	if p := q.Params[1]; p.Name != "who" || p.Required || p.Default != "" || p.Description != "optional name" {
		t.Errorf("who = %+v", p)
	}
	if p := q.Params[2]; p.Default != "5" || p.Required {
		t.Errorf("n = %+v", p)
	}
	if sig := q.Signature(); !strings.Contains(sig, `since Date, [who String = ""]`) {
		t.Errorf("signature %q", sig)
	}
}

func TestParseSavedRejects(t *testing.T) {
	cases := map[string]string{
		"-- title: T\n-- description: D\nSELECT @x":                                       "@x is used but not declared",
		"-- title: T\n-- description: D\n-- param: x String\nSELECT 1":                    "declared but not used",
		"-- title: T\n-- description: D\n-- param: x Blob\nSELECT @x":                     "unknown type Blob",
		"-- title: T\n-- description: D\n-- param: x Date = soon\nSELECT @x":              "default",
		"-- title: T\n-- description: D\n-- param: x String\n-- param: x Date\nSELECT @x": "declared twice",
		"-- title: T\n-- description: D\n-- params: x String\nSELECT 1":                   "unknown header",
		"-- title: T\nSELECT 1": "description",
		"-- title: T\n-- description: D\nINSERT INTO t VALUES (1)": "not allowed",
		"-- title: T\n-- description: D\nSELECT 1; SELECT 2":       "one statement",
	}
	for src, want := range cases {
		if _, err := parseSaved("bad", src); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("parseSaved(%q) = %v, want an error containing %q", src, err, want)
		}
	}
}

func TestBind(t *testing.T) {
	q, err := parseSaved("test", testSaved)
	if err != nil {
		t.Fatal(err)
	}
	hostile := `O'Brien \' ; -- DROP TABLE x; ` + "\x00 ünïcødé 🙂 @n"
	args, err := q.Bind(map[string]string{"since": "2024-05-01", "who": hostile, "delta": "-3", "at": "2024-05-01T10:00:00.5+02:00"})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]any{}
	for _, a := range args {
		nv := a.(driver.NamedValue)
		got[nv.Name] = nv.Value
	}
	want := map[string]any{
		"since": time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC), "who": hostile, "n": uint64(5), "delta": int64(-3),
		"f": 1.5, "at": time.Date(2024, 5, 1, 8, 0, 0, 0, time.UTC),
	}
	for k, v := range want {
		if g, ok := got[k]; !ok || !equalValue(g, v) {
			t.Errorf("bound %s = %#v, want %#v", k, g, v)
		}
	}
}

func equalValue(a, b any) bool {
	if ta, ok := a.(time.Time); ok {
		tb, ok := b.(time.Time)
		return ok && ta.Equal(tb)
	}
	return a == b
}

func TestBindRejects(t *testing.T) {
	q, err := parseSaved("test", testSaved)
	if err != nil {
		t.Fatal(err)
	}
	secret := "cust-4711-secret"
	cases := []struct {
		params map[string]string
		want   []string
	}{
		{map[string]string{"delta": "1", "at": "2024-01-01"}, []string{`"since" (Date) is required`}},
		{map[string]string{"since": "2024-01-01", "delta": "1", "at": "2024-01-01", "bogus": secret}, []string{`unknown parameter "bogus"`}},
		{map[string]string{"since": secret, "delta": "1", "at": "2024-01-01"}, []string{"not a Date"}},
		{map[string]string{"since": "2024-01-01", "delta": "1.5", "at": "2024-01-01"}, []string{"not an Int64"}},
		{map[string]string{"since": "2024-01-01", "delta": "1", "at": secret}, []string{"not a DateTime"}},
		{map[string]string{"since": "2024-01-01", "delta": "1", "at": "2024-01-01", "n": "-1"}, []string{"not a UInt64"}},
		{map[string]string{"since": "2024-01-01", "delta": "1", "at": "2024-01-01", "f": "NaN"}, []string{"not a Float64"}},
		{map[string]string{"since": "2024-01-01", "delta": "1", "at": "2024-01-01", "who": "\xff"}, []string{"UTF-8"}},
	}
	for _, c := range cases {
		_, err := q.Bind(c.params)
		var qe *QueryError
		if !errors.As(err, &qe) || qe.Kind != ErrInvalid {
			t.Errorf("Bind(%v) = %v, want an invalid *QueryError", c.params, err)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(qe.Message, w) {
				t.Errorf("Bind(%v) = %q, want it to contain %q", c.params, qe.Message, w)
			}
		}
		if strings.Contains(qe.Message, secret) {
			t.Errorf("Bind error repeats a parameter value: %q", qe.Message)
		}
	}
}

const testVariants = `-- description: Events of one kind.
-- variant: kind-a  a   Kind A: the first kind
-- variant: kind-b  b   Kind B
-- param: since Date
SELECT event_id FROM {{.DB}}.access_events WHERE kind = @variant AND occurred_at >= @since
`

// TestSavedVariants checks that a file with variant lines is one saved
// query per variant, each binding its own value to @variant.
func TestSavedVariants(t *testing.T) {
	q, err := parseSaved("kinds", testVariants)
	if err != nil {
		t.Fatal(err)
	}
	qs := q.expand()
	if len(qs) != 2 || qs[0].Name != "kind-a" || qs[0].Title != "Kind A: the first kind" || qs[1].Name != "kind-b" ||
		qs[1].Description != "Events of one kind." || len(qs[1].Params) != 1 {
		t.Fatalf("expanded %+v", qs)
	}
	for i, want := range []string{"a", "b"} {
		args, err := qs[i].Bind(map[string]string{"since": "2026-01-01"})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, a := range args {
			nv := a.(driver.NamedValue)
			got = append(got, nv.Name+"="+fmt.Sprint(nv.Value))
		}
		if len(got) != 2 || got[0] != "variant="+want {
			t.Errorf("%s binds %v, want variant=%s and since", qs[i].Name, got, want)
		}
	}
	if _, err := qs[0].Bind(map[string]string{"since": "2026-01-01", "variant": "b"}); err == nil || !strings.Contains(err.Error(), `unknown parameter "variant"`) {
		t.Errorf("a caller may not choose the variant: %v", err)
	}
}

func TestSavedVariantsRejects(t *testing.T) {
	cases := map[string]string{
		"-- description: D\n-- variant: a x A\nSELECT 1":                                  "@variant goes with",
		"-- title: T\n-- description: D\nSELECT @variant":                                 "@variant goes with",
		"-- title: T\n-- description: D\n-- variant: a x A\nSELECT @variant":              "has no `-- title:`",
		"-- description: D\n-- variant: A_b x A\nSELECT @variant":                         "bad variant line",
		"-- description: D\n-- variant: a x\nSELECT @variant":                             "bad variant line",
		"-- description: D\n-- variant: a x A\n-- param: variant String\nSELECT @variant": "reserved",
	}
	for src, want := range cases {
		if _, err := parseSaved("bad", src); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("parseSaved(%q) = %v, want an error containing %q", src, err, want)
		}
	}
}

func TestSavedNameDefinedTwice(t *testing.T) {
	fsys := fstest.MapFS{
		"saved/kinds.sql":  {Data: []byte(testVariants)},
		"saved/kind-b.sql": {Data: []byte("-- title: T\n-- description: D\nSELECT 1")},
	}
	if _, err := readSaved(fsys); err == nil || !strings.Contains(err.Error(), "saved query kind-b is defined twice") {
		t.Errorf("readSaved = %v, want kind-b refused as defined twice", err)
	}
	delete(fsys, "saved/kind-b.sql")
	qs, err := readSaved(fsys)
	if err != nil || len(qs) != 2 {
		t.Errorf("readSaved = %d queries, %v; want kind-a and kind-b", len(qs), err)
	}
}
