package queries_test

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/privaudit/privaudit/audit"
	"github.com/privaudit/privaudit/audit/chserver"
	"github.com/privaudit/privaudit/audit/store"
	"github.com/privaudit/privaudit/queries"
)

// startClickHouse starts a managed ClickHouse for the test.
func startClickHouse(t *testing.T) driver.Conn {
	t.Helper()
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	ch, err := chserver.Start(ctx, chserver.Options{Dir: filepath.Join(t.TempDir(), "clickhouse"), Logger: log})
	if err != nil {
		t.Fatalf("start clickhouse: %v", err)
	}
	t.Cleanup(func() { _ = ch.Stop(context.Background()) })
	conn, err := store.Open(ctx, store.Options{Addrs: []string{ch.Addr}, User: ch.AdminUser, Password: ch.AdminPassword, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// ruleQueries are SQL files using the rule fragments the way reports and
// saved queries do, rendered through the same expansion (queries.Render).
var ruleQueries = fstest.MapFS{
	"disclosure.sql": {Data: []byte(`SELECT action, outcome, recipient_type, toUInt8({{disclosure}})
FROM (SELECT arrayJoin(@actions) AS action, arrayJoin(@outcomes) AS outcome, arrayJoin(@recipient_types) AS recipient_type)`)},
	"violation.sql": {Data: []byte(`SELECT verdict, toUInt8({{violation}}) FROM (SELECT arrayJoin(@verdicts) AS verdict)`)},
}

// withOdd adds values outside the enumeration: the rules must agree on
// those too.
func withOdd(values []string) []string {
	return append(append([]string{}, values...), "", "other", strings.ToUpper(values[0]))
}

// TestRulesAgreeWithGo checks, in ClickHouse, that the SQL rule fragments
// decide exactly as their Go homes: {{disclosure}} as audit.IsDisclosure on
// every action × outcome × recipient_type, {{violation}} as
// audit.Verdict.IsViolation on every verdict.
func TestRulesAgreeWithGo(t *testing.T) {
	conn := startClickHouse(t)
	ctx := context.Background()
	sql, err := queries.Render(ruleQueries, "disclosure.sql", queries.DefaultSchema)
	if err != nil {
		t.Fatal(err)
	}
	actions, outcomes, types := withOdd(audit.Actions), withOdd(audit.Outcomes), withOdd(audit.RecipientTypes)
	rows, err := conn.Query(ctx, sql, clickhouse.Named("actions", actions), clickhouse.Named("outcomes", outcomes),
		clickhouse.Named("recipient_types", types))
	if err != nil {
		t.Fatalf("disclosure rule in ClickHouse: %v\n%s", err, sql)
	}
	n, disclosures := 0, 0
	for rows.Next() {
		var action, outcome, rtype string
		var got uint8
		if err := rows.Scan(&action, &outcome, &rtype, &got); err != nil {
			t.Fatal(err)
		}
		n++
		want := audit.IsDisclosure(action, outcome, rtype)
		if want {
			disclosures++
		}
		if (got == 1) != want {
			t.Errorf("action %q outcome %q recipient_type %q: SQL says disclosure=%d, Go says %v", action, outcome, rtype, got, want)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if n != len(actions)*len(outcomes)*len(types) || disclosures == 0 {
		t.Fatalf("checked %d combinations (%d disclosures), want %d", n, disclosures, len(actions)*len(outcomes)*len(types))
	}

	sql, err = queries.Render(ruleQueries, "violation.sql", queries.DefaultSchema)
	if err != nil {
		t.Fatal(err)
	}
	verdicts := append(audit.VerdictNames(), "unknown", "")
	rows, err = conn.Query(ctx, sql, clickhouse.Named("verdicts", verdicts))
	if err != nil {
		t.Fatalf("violation rule in ClickHouse: %v\n%s", err, sql)
	}
	n = 0
	for rows.Next() {
		var v string
		var got uint8
		if err := rows.Scan(&v, &got); err != nil {
			t.Fatal(err)
		}
		n++
		if want := audit.Verdict(v).IsViolation(); (got == 1) != want {
			t.Errorf("verdict %q: SQL says violation=%d, Go says %v", v, got, want)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if n != len(verdicts) {
		t.Fatalf("checked %d verdicts, want %d", n, len(verdicts))
	}
}

// TestRuleFragmentsIncluded checks that every report and saved query that
// selects disclosures or flags violations does so through the shared
// fragment: none restates the rule.
func TestRuleFragmentsIncluded(t *testing.T) {
	for _, name := range []string{"disclosures", "recipients", "verdicts"} {
		src, err := os.ReadFile(filepath.Join("reports", name+".sql"))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(src), "{{disclosure}}") {
			t.Errorf("reports/%s.sql does not include {{disclosure}}", name)
		}
	}
	for _, name := range []string{"ad-network-subjects", "shares-after-withdrawal", "top-recipients-by-category", "subject-recipients"} {
		src, err := os.ReadFile(filepath.Join("saved", name+".sql"))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(src), "{{disclosure}}") {
			t.Errorf("saved/%s.sql does not include {{disclosure}}", name)
		}
	}
	for _, dir := range []string{"reports", "saved"} {
		ents, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range ents {
			src, err := os.ReadFile(filepath.Join(dir, e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			for _, restated := range []string{"('share', 'export', 'transfer')", "NOT IN ('covered', 'other_basis', 'denied')", "IN ('no_consent', 'consent_unknown')"} {
				if strings.Contains(string(src), restated) {
					t.Errorf("%s/%s restates a rule (%s): include the fragment of queries/rules instead", dir, e.Name(), restated)
				}
			}
		}
	}
	q, err := queries.LookupSaved("subject-recipients")
	if err != nil {
		t.Fatal(err)
	}
	sql, err := q.SQL(queries.DefaultSchema)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(sql, "outcome = 'allowed'") || strings.Contains(sql, "{{") {
		t.Errorf("subject-recipients renders without the expanded disclosure rule:\n%s", sql)
	}
}
