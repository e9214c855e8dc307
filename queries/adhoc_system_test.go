package queries

import (
	"strings"
	"testing"
)

// systemBypasses are spellings of reads of system tables that show other
// sessions; CheckStatement must refuse each, naming what it refused.
var systemBypasses = []struct{ sql, names string }{
	{"SELECT query FROM system.processes", "system.processes"},
	{"SELECT query FROM `system`.`processes`", "system.processes"},
	{`SELECT query FROM "system"."processes"`, "system.processes"},
	{"SELECT query FROM system . processes", "system.processes"},
	{"SELECT query FROM system\n.\nprocesses", "system.processes"},
	{"SELECT query FROM system/**/./**/processes", "system.processes"},
	{"SELECT query FROM system -- a\n . -- b\n processes", "system.processes"},
	{"SELECT QUERY FROM SYSTEM.PROCESSES", "system.PROCESSES"},
	{"select query from System.Processes", "system.Processes"},
	{"SELECT query FROM `sys\\x74em`.`proc\\x65sses`", "system.processes"},
	{"SELECT query FROM `sys\\Ntem`.processes", "system.processes"},
	{"SELECT query FROM `system`.`pro``cesses`", "system.pro`cesses"},
	{"SELECT * FROM privaudit.access_events WHERE subject_id IN (SELECT query FROM system.processes)", "system.processes"},
	{"SELECT 1 FROM system.one JOIN system.query_log USING (dummy)", "system.query_log"},
	{"SELECT query FROM system.query_thread_log", "system.query_thread_log"},
	{"SELECT command FROM system.mutations", "system.mutations"},
	{"SELECT system.processes.query FROM system.one", "system.processes"},
	{"WITH (SELECT any(query) FROM system.processes) AS q SELECT q", "system.processes"},
	{"SHOW PROCESSLIST", "SHOW PROCESSLIST"},
	{"show /* x */ processlist;", "SHOW PROCESSLIST"},
	{"SHOW TABLES FROM system", "the system database"},
	{"SHOW TABLES IN `system` LIKE 'proc%'", "the system database"},
	{"SHOW CREATE TABLE system.processes", "system.processes"},
	{"DESCRIBE system.processes", "system.processes"},
	{"SELECT * FROM system", "the system database"},
	{"SELECT 1 AS system", "the system database"},
}

func TestCheckStatementRefusesSystemTables(t *testing.T) {
	for _, c := range systemBypasses {
		_, err := CheckStatement(c.sql)
		if KindOf(err) != ErrRefused {
			t.Errorf("CheckStatement(%q) = %v, want a refusal", c.sql, err)
			continue
		}
		msg := err.Error()
		if !strings.Contains(msg, c.names) || !strings.Contains(msg, "system.tables") || !strings.Contains(msg, "system.one") {
			t.Errorf("CheckStatement(%q): message %q does not name %q and the allow-list", c.sql, msg, c.names)
		}
	}
}

func TestCheckStatementAllowsListedSystemTables(t *testing.T) {
	for _, sql := range []string{
		"SELECT number FROM system.numbers LIMIT 3",
		"SELECT name FROM `system`.`tables` WHERE database = 'system'",
		`SELECT name FROM "system"."columns"`,
		"SELECT value FROM system . settings WHERE name = 'readonly'",
		"SELECT * FROM system/**/./**/one",
		"SELECT name FROM system.functions WHERE name LIKE '%system%'",
		"SELECT 'system.processes', \"systemx\".y FROM privaudit.access_events",
		"SELECT 1 -- system.processes\n",
		"SHOW TABLES",
		"SHOW DATABASES",
		"DESCRIBE system.one",
	} {
		if _, err := CheckStatement(sql); err != nil {
			t.Errorf("CheckStatement(%q): %v", sql, err)
		}
	}
}

func TestUnquoteIdent(t *testing.T) {
	cases := map[string]string{
		"system":    "system",
		`sys\x74em`: "system",
		`sys\Ntem`:  "system",
		`a\tb`:      "a\tb",
		`a\qb`:      "aqb",
		"a``b":      "a`b",
		`a\\b`:      `a\b`,
	}
	for in, want := range cases {
		if got := unquoteIdent(in, '`'); got != want {
			t.Errorf("unquoteIdent(%q) = %q, want %q", in, got, want)
		}
	}
}
