package queries

import (
	"io/fs"
	"regexp"
	"strings"
	"testing"
)

func TestCheckStatementRefusesComplexity(t *testing.T) {
	nest := func(open, close string, n int) string {
		return strings.Repeat(open, n) + "1" + strings.Repeat(close, n)
	}
	list := func(n int) string { return strings.TrimSuffix(strings.Repeat("1,", n), ",") }
	cases := map[string]string{
		"SELECT " + nest("(", ")", 1000):                                           "nests 1000 levels deep",
		nest("(", ")", 300):                                                        "nests 300 levels deep",
		"(((((SELECT " + nest("(", ")", 60) + ")))))":                              "nests 65 levels deep",
		"SELECT " + nest("[", "]", 65):                                             "nests 65 levels deep",
		"SELECT " + nest("abs(", ")", 65):                                          "nests 65 levels deep",
		"SELECT " + nest("(SELECT ", ")", 65):                                      "nests 65 levels deep",
		"SELECT " + nest("CASE WHEN 1 THEN ", " END", 65):                          "nests 65 levels deep",
		"SELECT " + strings.Repeat("NOT ", 100) + "1":                              "nests 100 levels deep",
		"SELECT " + strings.Repeat("(end, ", 100) + "1" + strings.Repeat(")", 100): "nests 100 levels deep",
		"SELECT " + strings.Repeat("(]", 100) + "1":                                "nests 100 levels deep",
		"SELECT " + strings.Repeat("CASE WHEN (1) THEN ", 65) + "1":                "nests 66 levels deep",
		"SELECT " + strings.Repeat("- ", 100) + "1":                                "nests 100 levels deep",
		"SELECT " + strings.Repeat("1+", 12_000) + "1":                             "has 24002 tokens",
		"SELECT 1 IN (" + list(6000) + ")":                                         "one of its lists has 6000 items",
		"SELECT [" + list(5001) + "]":                                              "one of its lists has 5001 items",
		"SELECT " + list(5001):                                                     "one of its lists has 5001 items",
		"SELECT '" + strings.Repeat("x", MaxQueryBytes) + "'":                      "bytes long; the limit is 262144",
		"SELECT 1 /* " + strings.Repeat("(", 1000) + " */":                         "",
		"SELECT '" + strings.Repeat("(", 1000) + "'":                               "",
		"SELECT " + nest("(", ")", 64):                                             "",
		"SELECT 1 IN (" + list(5000) + ")":                                         "",
		"SELECT arrayMap(x -> -x, [1, 2]) - -1, NOT NOT 1, 3 - -(-1)":              "",
		"SELECT (end), [a[1], b[2]], CASE WHEN (x) THEN [1] ELSE (2) END FROM t":   "",
	}
	for in, want := range cases {
		_, err := CheckStatement(in)
		short := in
		if len(short) > 60 {
			short = short[:60] + "…"
		}
		if want == "" {
			if err != nil {
				t.Errorf("CheckStatement(%q): %v", short, err)
			}
			continue
		}
		if err == nil || KindOf(err) != ErrRefused || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "the limit is") {
			t.Errorf("CheckStatement(%q) = %v, want a refusal containing %q and naming the limit", short, err, want)
		}
	}
}

// checkShape applies CheckStatement's complexity bounds to sql, which may
// be a fragment (a report's shared filter) rather than a statement.
func checkShape(sql string) error {
	if err := checkSize(sql); err != nil {
		return err
	}
	sc := sqlScanner{src: sql}
	var shape queryShape
	for sc.next() {
		shape.observe(&sc)
	}
	return shape.check()
}

// TestSavedAndReportQueriesWithinLimits runs every saved query and every
// report query (detail and sections) through the complexity bounds.
func TestSavedAndReportQueriesWithinLimits(t *testing.T) {
	saved, err := Saved()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, q := range saved {
		sql, err := q.SQL(DefaultSchema)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := CheckStatement(sql); err != nil {
			t.Errorf("saved query %s: %v", q.Name, err)
		}
		n++
	}
	names, err := ReportNames()
	if err != nil {
		t.Fatal(err)
	}
	defineRE := regexp.MustCompile(`\{\{\s*define\s+"([^"]+)"`)
	for _, name := range names {
		src, err := fs.ReadFile(reportFiles, "reports/"+name+".sql")
		if err != nil {
			t.Fatal(err)
		}
		sections := []string{""}
		for _, m := range defineRE.FindAllStringSubmatch(string(src), -1) {
			sections = append(sections, m[1])
		}
		for _, sec := range sections {
			sql, err := ReportSection(name, sec, DefaultSchema)
			if err != nil {
				t.Fatalf("report %s section %q: %v", name, sec, err)
			}
			for _, st := range Statements(sql) {
				if commentOnly(st) {
					continue
				}
				if err := checkShape(st); err != nil {
					t.Errorf("report %s section %q: %v", name, sec, err)
				}
				n++
			}
		}
	}
	if n < 15 {
		t.Fatalf("only %d queries checked: the catalog was not found", n)
	}
	t.Logf("%d saved and report statements within the bounds", n)
}
