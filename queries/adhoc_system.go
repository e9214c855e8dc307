package queries

import (
	"strings"
)

// SystemTables is the allow-list of ClickHouse system tables ad-hoc SQL may
// read: constants, the catalogue of the officer's own tables (ClickHouse
// 18.16 filters system.tables, columns and databases by the reader's
// allowed databases) and reference lists of functions, types and formats.
//
// Every other system table is refused, above all those that show other
// sessions or their SQL (system.processes and SHOW PROCESSLIST, query_log,
// query_thread_log, mutations, merges, replication_queue) and server
// internals (parts, dictionaries, clusters, macros, zookeeper). ClickHouse
// 18.16 cannot enforce this itself: every user may read the system database
// whatever its allow_databases say, and it has no row policies.
var SystemTables = []string{
	"aggregate_function_combinators", "build_options", "collations", "columns", "contributors",
	"data_type_families", "databases", "formats", "functions", "numbers", "numbers_mt", "one",
	"settings", "table_engines", "table_functions", "tables",
}

// checkSystemTables refuses sql when it names the system database other
// than as system.<table> with <table> in SystemTables, or when it is SHOW
// PROCESSLIST. Names are compared as ClickHouse resolves them, after
// unquoting "…" and `…` identifiers with their escapes, and
// case-insensitively, so no spelling, spacing or comment slips through;
// sql has already passed the lexical checks of CheckStatement.
func checkSystemTables(sql string) error {
	sc := sqlScanner{src: sql}
	sysAt := -1  // position of a "system" name awaiting ".", or -1
	dotted := -1 // position of "system." awaiting its table name, or -1
	for sc.next() {
		name, isName := tokenName(&sc)
		switch {
		case dotted >= 0:
			if !isName {
				return systemRefusal("system." + sc.src[sc.pos:sc.i])
			}
			if !allowedSystemTable(name) {
				return systemRefusal("system." + name)
			}
			dotted = -1
		case sysAt >= 0:
			if sc.src[sc.pos:sc.i] != "." {
				return systemRefusal("the system database")
			}
			sysAt, dotted = -1, sc.pos
		case isName && strings.EqualFold(name, "system"):
			sysAt = sc.pos
		case sc.tok == tokWord && strings.EqualFold(name, "PROCESSLIST") && strings.EqualFold(sc.first, "SHOW"):
			return systemRefusal("SHOW PROCESSLIST (system.processes)")
		}
	}
	if sysAt >= 0 || dotted >= 0 {
		return systemRefusal("the system database")
	}
	return nil
}

// tokenName returns the identifier the scanner's current token names: a
// bare word as written, or a quoted identifier unquoted.
func tokenName(sc *sqlScanner) (string, bool) {
	if sc.tok == tokWord {
		return sc.text, true
	}
	raw := sc.src[sc.pos:sc.i]
	if sc.tok != tokOther || len(raw) < 2 || (raw[0] != '"' && raw[0] != '`') {
		return "", false
	}
	return unquoteIdent(raw[1:len(raw)-1], raw[0]), true
}

// unquoteIdent decodes the body of a quoted identifier the way ClickHouse's
// parser does: a doubled quote is one quote, and a backslash starts an
// escape (\xHH a byte, \N nothing, \n \t … control characters, any other
// character itself).
func unquoteIdent(body string, q byte) string {
	var b strings.Builder
	for i := 0; i < len(body); i++ {
		c := body[i]
		switch {
		case c == q && i+1 < len(body) && body[i+1] == q:
			b.WriteByte(q)
			i++
		case c == '\\' && i+1 < len(body):
			i++
			switch e := body[i]; e {
			case 'x':
				if i+2 < len(body) {
					b.WriteByte(unhex(body[i+1])<<4 | unhex(body[i+2]))
					i += 2
				}
			case 'N':
			default:
				b.WriteByte(escapeByte(e))
			}
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

func unhex(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10
	}
	return 0
}

func escapeByte(e byte) byte {
	if i := strings.IndexByte("abefnrtv0", e); i >= 0 {
		return "\a\b\x1b\f\n\r\t\v\x00"[i]
	}
	return e
}

func allowedSystemTable(name string) bool {
	name = strings.ToLower(name)
	for _, t := range SystemTables {
		if name == t {
			return true
		}
	}
	return false
}

func systemRefusal(what string) *QueryError {
	return refused("query refused: ad-hoc SQL may not read %s, which can show other sessions' queries or server internals; of the system database it may read only system.%s",
		what, strings.Join(SystemTables, ", system."))
}
