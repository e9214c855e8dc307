package queries

import (
	"strings"
	"testing"
	"testing/fstest"
)

// TestRuleFragmentChecks checks that a rule fragment that could change the
// SQL around the place it is included is refused, naming the file.
func TestRuleFragmentChecks(t *testing.T) {
	fsys := fstest.MapFS{
		"rules/good.sql":      {Data: []byte("{{/* a comment */}}\n(a = 'x')\n")},
		"rules/semicolon.sql": {Data: []byte("a = 1; DROP TABLE t")},
		"rules/comment.sql":   {Data: []byte("a = 1 -- rest of the line")},
		"rules/block.sql":     {Data: []byte("a = 1 /* */")},
		"rules/param.sql":     {Data: []byte("a = @who")},
		"rules/empty.sql":     {Data: []byte("{{/* only a comment */}}")},
		"rules/bad-name.sql":  {Data: []byte("a = 1")},
	}
	if got, err := ruleFragment(fsys, "good"); err != nil || got != "(a = 'x')" {
		t.Errorf("good fragment: %q, %v", got, err)
	}
	for _, name := range []string{"semicolon", "comment", "block", "param", "empty", "bad-name"} {
		if _, err := ruleFragment(fsys, name); err == nil || !strings.Contains(err.Error(), "rules/"+name+".sql") {
			t.Errorf("fragment %s: error %v, want a refusal naming the file", name, err)
		}
	}
	funcs, err := ruleFuncs()
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"disclosure", "violation"} {
		if _, ok := funcs[name]; !ok {
			t.Errorf("no rule fragment {{%s}}", name)
		}
	}
}
