package console

import (
	"errors"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/privaudit/privaudit/audit/apierr"
	"github.com/privaudit/privaudit/queries"
	"github.com/privaudit/privaudit/reports/sqlconsole"
)

// resultView is one page of a query's result. The page is read from a run
// of the whole query: the rows before it are skipped and the rows after it
// counted (up to the row cap), so memory holds one page, Total is the
// whole result's size, and each page is one recorded run.
type resultView struct {
	Columns   []string
	Rows      [][]cell
	Page      int
	Pages     int
	First     int64 // number of the page's first row, from 1
	Last      int64
	Total     int64
	Truncated bool
	Beyond    bool // the page asked for lies past the result's end
	QueryID   string
	Run       runRequest // the run that made it, carried by the pager and exports
}

// cell is one value as the table shows it.
type cell struct {
	Text      string
	Num, Null bool
}

// readPage reads qr to its end (or the row cap), keeping the rows of page.
func readPage(qr *queries.Result, page int) *resultView {
	v := &resultView{Page: page, QueryID: qr.ID()}
	for _, c := range qr.Columns() {
		v.Columns = append(v.Columns, c.Name)
	}
	from := int64(page-1) * PageRows
	for qr.Next() {
		if n := qr.Rows(); n <= from || n > from+PageRows {
			continue
		}
		vals := qr.Values()
		row := make([]cell, len(vals))
		for i, x := range vals {
			row[i] = cellOf(x)
		}
		v.Rows = append(v.Rows, row)
	}
	v.Total, v.Truncated = qr.Rows(), qr.Truncated()
	v.Pages = max(int((v.Total+PageRows-1)/PageRows), 1)
	if len(v.Rows) > 0 {
		v.First, v.Last = from+1, from+int64(len(v.Rows))
	}
	v.Beyond = page > v.Pages
	return v
}

func cellOf(x any) cell {
	switch x.(type) {
	case nil:
		return cell{Text: "NULL", Null: true}
	case int64, uint64, float64:
		return cell{Text: sqlconsole.CellText(x), Num: true}
	}
	return cell{Text: sqlconsole.CellText(x)}
}

// Prev and Next are the neighbouring pages, 0 when there is none.
func (v *resultView) Prev() int {
	if v.Page > 1 {
		return min(v.Page-1, v.Pages)
	}
	return 0
}

// Next is the page after v's, 0 at the last page.
func (v *resultView) Next() int {
	if v.Page < v.Pages {
		return v.Page + 1
	}
	return 0
}

// problem is a refused or failed run explained: what happened, why, what
// privaudit or ClickHouse said, and what to do next.
type problem struct {
	Status   int
	Title    string
	Why      string
	Detail   string
	Next     string
	Position *position
}

// position marks where in the statement ClickHouse stopped reading.
type position struct {
	At                  int
	Before, Char, After string
}

// writeStatements are the leading keywords of statements that change data,
// tables or the server; a refused one is explained as a write.
var writeStatements = []string{"INSERT", "DROP", "ALTER", "DELETE", "UPDATE", "TRUNCATE", "CREATE", "RENAME",
	"OPTIMIZE", "ATTACH", "DETACH", "GRANT", "REVOKE", "KILL", "SYSTEM", "SET", "USE", "EXCHANGE", "REPLACE", "UNDROP", "MOVE"}

// objectWords name what a write statement acts on ("DROP TABLE").
var objectWords = []string{"TABLE", "DATABASE", "VIEW", "DICTIONARY", "USER", "ROLE", "PARTITION", "COLUMN", "QUERY", "TEMPORARY", "MATERIALIZED"}

var (
	leadRE     = regexp.MustCompile(`^(?:\s+|--[^\n]*(?:\n|$)|/\*[\s\S]*?\*/|\()*([A-Za-z]+)(?:\s+([A-Za-z]+))?`)
	positionRE = regexp.MustCompile(`position (\d+)`)
)

// leadingStatement is the statement's leading keyword, with the object it
// acts on for a write ("DROP TABLE"), in capitals.
func leadingStatement(sql string) (kw string, write bool) {
	m := leadRE.FindStringSubmatch(sql)
	if m == nil {
		return "", false
	}
	kw = strings.ToUpper(m[1])
	write = slices.Contains(writeStatements, kw)
	if obj := strings.ToUpper(m[2]); write && slices.Contains(objectWords, obj) {
		kw += " " + obj
	}
	return kw, write
}

// explain turns a run's error into plain words. sql is the ad-hoc
// statement ("" for a saved query), for the position of a syntax error.
func explain(err error, sql string) *problem {
	var qe *queries.QueryError
	var ae *apierr.Error
	switch {
	case errors.As(err, &qe):
		return explainQuery(qe, sql)
	case errors.As(err, &ae) && ae.Code == apierr.TooMany:
		return &problem{Status: http.StatusTooManyRequests, Title: "You already have queries running.", Detail: ae.Message,
			Next: "Wait for one of them to finish (or close its tab), then run this one again."}
	case errors.As(err, &ae) && ae.Code == apierr.Unavailable:
		return &problem{Status: http.StatusServiceUnavailable, Title: "Every query slot is busy.", Detail: ae.Message,
			Next: "Run the query again in a moment."}
	case errors.As(err, &ae) && ae.Code != apierr.Internal:
		return &problem{Status: http.StatusBadRequest, Title: "The query could not be run.", Detail: ae.Message,
			Next: "Correct the form as the message says and run it again."}
	}
	return &problem{Status: http.StatusInternalServerError, Title: "The query failed inside privaudit.", Detail: err.Error(),
		Next: "Run it again; if it fails again, ask an admin to look at privaudit's log."}
}

func explainQuery(qe *queries.QueryError, sql string) *problem {
	p := &problem{Status: http.StatusBadRequest, Detail: qe.Message}
	switch qe.Kind {
	case queries.ErrRefused:
		p.Status = http.StatusForbidden
		if kw, write := leadingStatement(sql); write {
			p.Title = "privaudit refused to run " + kw + "."
			p.Why = "privaudit's console only reads; " + kw + " would change the audit trail, which must stay exactly as it was recorded."
			p.Next = "Nothing was changed. To look at the data, write a SELECT (or SHOW, DESCRIBE, EXPLAIN), for example SELECT count() FROM privaudit.access_events."
		} else {
			p.Title = "privaudit refused to run this query."
			p.Why = "The console runs one read statement at a time, on privaudit's own tables, with the reader's fixed settings."
			p.Next = "Nothing was changed. Change the query as the message says and run it again."
		}
	case queries.ErrLimit:
		p.Title = "The query was stopped at one of the reader's limits."
		p.Next = "Add filters, aggregate (GROUP BY) or add a LIMIT, then run it again."
		if strings.Contains(qe.Message, "max_execution_time") || strings.Contains(qe.Message, "ran longer than") {
			p.Title = "The query ran too long and was stopped."
			p.Next = "Narrow the period (a shorter since–until, or a narrower WHERE occurred_at …) or add filters, then run it again."
		}
	case queries.ErrInvalid:
		p.Title = "ClickHouse could not run the query."
		p.Next = "Correct it and run it again: SHOW TABLES lists what you can read, DESCRIBE TABLE privaudit.access_events its columns."
		if m := positionRE.FindStringSubmatch(qe.Message); m != nil && (qe.Code == 62 || qe.Code == 0) {
			p.Title = "The query has a syntax error."
			p.Next = "Correct the statement where it is marked and run it again."
			p.Position = markPosition(sql, m[1])
		} else if strings.HasPrefix(qe.Message, "saved query ") {
			p.Title = "The saved query's fields are not filled in right."
			p.Next = "Fill in the fields as the message says (required ones are marked) and run it again."
		}
	case queries.ErrNotFound:
		p.Status, p.Title = http.StatusNotFound, "There is no such saved query."
		p.Next = "Choose one of the saved queries listed beside the editor."
	case queries.ErrUnavailable:
		p.Status, p.Title = http.StatusServiceUnavailable, "ClickHouse cannot answer the query just now."
		p.Next = "Run it again in a moment; if it persists, ask an admin to look at privaudit's log."
	case queries.ErrCanceled:
		p.Title, p.Next = "The query was cancelled.", "Run it again."
	default:
		p.Status, p.Title = http.StatusInternalServerError, "The query failed."
		p.Next = "Run it again; if it fails again, ask an admin to look at privaudit's log."
	}
	return p
}

// markPosition cuts sql around the 1-based byte position at: up to 40
// bytes before, the character there, and the rest of its line (up to 40).
func markPosition(sql, at string) *position {
	n, err := strconv.Atoi(at)
	if err != nil || sql == "" || n < 1 {
		return nil
	}
	i := min(n-1, len(sql))
	for i > 0 && i < len(sql) && !utf8.RuneStart(sql[i]) {
		i--
	}
	start := max(i-40, 0)
	for start > 0 && !utf8.RuneStart(sql[start]) {
		start--
	}
	p := &position{At: n, Before: sql[start:i]}
	if i < len(sql) {
		_, size := utf8.DecodeRuneInString(sql[i:])
		p.Char = sql[i : i+size]
		rest := sql[i+size:]
		if j := strings.IndexByte(rest, '\n'); j >= 0 {
			rest = rest[:j]
		}
		if len(rest) > 40 {
			cut := 40
			for cut > 0 && !utf8.RuneStart(rest[cut]) {
				cut--
			}
			rest = rest[:cut] + "…"
		}
		p.After = rest
	}
	if k := strings.LastIndexByte(p.Before, '\n'); k >= 0 {
		p.Before = p.Before[k+1:]
	}
	return p
}
