package queries

import (
	"fmt"
	"strings"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/ext"
	"github.com/ClickHouse/clickhouse-go/v2/lib/column"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// ParamsTable is the external table that carries String parameter values
// to ClickHouse beside the query text rather than inside it.
const ParamsTable = "privaudit_params"

// ExternalArgs keeps the String values among args — customer ids and other
// personal data — out of the statement's text, where system.processes and
// the server's logs would show them. It returns sql with each @name
// placeholder of a String clickhouse.Named argument replaced by a scalar
// subquery on ParamsTable, the remaining args (bound by the driver as
// before) and the query option that sends ParamsTable (one row, one String
// column per moved value) with the query; the option is nil when no value
// moved. External tables travel over the native protocol and work on
// ClickHouse 18.16 for readonly users too. Call it once per query: the
// option must not be shared by queries running concurrently.
func ExternalArgs(sql string, args []any) (string, []any, clickhouse.QueryOption, error) {
	moved := map[string]string{}
	var names []string
	rest := make([]any, 0, len(args))
	for _, a := range args {
		nv, ok := a.(driver.NamedValue)
		if s, isString := nv.Value.(string); ok && isString {
			if _, dup := moved[nv.Name]; !dup {
				names = append(names, nv.Name)
			}
			moved[nv.Name] = s
			continue
		}
		rest = append(rest, a)
	}
	if len(names) == 0 {
		return sql, args, nil, nil
	}
	var b strings.Builder
	sc := sqlScanner{src: sql}
	last := 0
	for sc.next() {
		if _, ok := moved[sc.text]; sc.tok == tokParam && ok {
			b.WriteString(sql[last:sc.pos])
			b.WriteString("(SELECT `" + sc.text + "` FROM " + ParamsTable + ")")
			last = sc.i
		}
	}
	if sc.err != "" {
		return "", nil, nil, fmt.Errorf("bind parameters: %s", sc.err)
	}
	b.WriteString(sql[last:])
	cols := make([]func(*ext.Table) error, len(names))
	vals := make([]any, len(names))
	for i, n := range names {
		cols[i], vals[i] = ext.Column(n, column.Type("String")), moved[n]
	}
	tbl, err := ext.NewTable(ParamsTable, cols...)
	if err == nil {
		err = tbl.Append(vals...)
	}
	if err != nil {
		return "", nil, nil, fmt.Errorf("bind parameters as an external table: %w", err)
	}
	return b.String(), rest, clickhouse.WithExternalTable(tbl), nil
}
