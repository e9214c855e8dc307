package queries

import (
	"fmt"
	"strings"
)

// AllowedStatements are the leading keywords of the statements the ad-hoc
// runner accepts. The check is a fast, readable first line; the real
// enforcement is the ClickHouse reader user (readonly=1, one database).
var AllowedStatements = []string{"SELECT", "WITH", "SHOW", "DESCRIBE", "DESC", "EXPLAIN"}

const allowedList = "SELECT, WITH … SELECT, SHOW, DESCRIBE and EXPLAIN"

// CheckStatement verifies that sql is exactly one read statement (a
// trailing ";" is allowed) starting with one of AllowedStatements, and
// returns the statement without its trailing ";". Of the system database it
// may read only the tables of SystemTables. Semicolons inside string
// literals, quoted identifiers and comments do not end a statement. A
// refusal is a *QueryError of kind ErrRefused or ErrInvalid.
func CheckStatement(sql string) (string, error) {
	if err := checkSize(sql); err != nil {
		return "", err
	}
	var sc sqlScanner
	sc.src = sql
	var shape queryShape
	end := -1 // position of the terminating ';'
	for sc.next() {
		shape.observe(&sc)
		if end >= 0 {
			return "", refused("query refused: only one statement per query, but there is more after the ';' at position %d; send one statement at a time", end+1)
		}
		if sc.tok == tokSemicolon {
			end = sc.pos
		}
	}
	if sc.err != "" {
		return "", &QueryError{Kind: ErrInvalid, Message: "syntax error: " + sc.err}
	}
	if err := shape.check(); err != nil {
		return "", err
	}
	switch sc.first {
	case "":
		return "", &QueryError{Kind: ErrInvalid, Message: "empty query: write one " + allowedList + " statement"}
	case notKeyword:
		return "", &QueryError{Kind: ErrInvalid, Message: "the query must start with one of " + allowedList}
	}
	kw := strings.ToUpper(sc.first)
	allowed := false
	for _, a := range AllowedStatements {
		if kw == a {
			allowed = true
		}
	}
	if !allowed {
		return "", refused("query refused: %s statements are not allowed; only %s are (ad-hoc SQL is read-only)", kw, allowedList)
	}
	if err := checkSystemTables(sql); err != nil {
		return "", err
	}
	if end >= 0 {
		return sql[:end], nil
	}
	return sql, nil
}

func refused(format string, args ...any) *QueryError {
	return &QueryError{Kind: ErrRefused, Message: fmt.Sprintf(format, args...)}
}

// Token kinds of sqlScanner.
const (
	tokWord = iota + 1
	tokSemicolon
	tokOther
	tokParam // @name
)

// notKeyword marks a statement that starts with something other than a word.
const notKeyword = "\x00"

// sqlScanner walks SQL text the way ClickHouse's lexer splits it, enough to
// find statement boundaries, the leading keyword and @name placeholders:
// '…' string literals (with \ escapes and ” doubling), "…" and `…` quoted
// identifiers, -- line comments and /* */ block comments. It is deliberately
// conservative: # is not treated as a comment, and block comments do not
// nest, so a ';' hidden by either is seen as a statement end.
type sqlScanner struct {
	src   string
	i     int
	pos   int    // start of the current token
	tok   int    // kind of the current token
	text  string // text of the current word or @name
	first string // the first word of the statement (after leading "("), or notKeyword
	lead  int    // the "(" skipped before the first word
	err   string
}

// next advances to the next significant token; it returns false at the end
// of the input or on a lexical error (err is then set).
func (s *sqlScanner) next() bool {
	for s.i < len(s.src) && s.err == "" {
		c := s.src[s.i]
		s.pos = s.i
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v':
			s.i++
		case c == '-' && s.peek(1) == '-':
			s.skipLine()
		case c == '/' && s.peek(1) == '*':
			s.skipBlock()
		case c == '\'' || c == '"' || c == '`':
			s.skipQuoted(c)
			return s.emit(tokOther, "")
		case c == ';':
			s.i++
			return s.emit(tokSemicolon, "")
		case c == '@' && isIdentStart(s.peek(1)):
			j := s.i + 1
			for j < len(s.src) && isIdentChar(s.src[j]) {
				j++
			}
			name := s.src[s.i+1 : j]
			s.i = j
			return s.emit(tokParam, name)
		case isIdentStart(c):
			j := s.i
			for j < len(s.src) && isIdentChar(s.src[j]) {
				j++
			}
			w := s.src[s.i:j]
			s.i = j
			if s.first == "" {
				s.first = w
			}
			return s.emit(tokWord, w)
		case c == '(' && s.first == "":
			s.i++ // "(SELECT …)": look through leading parentheses
			s.lead++
		default:
			s.i++
			return s.emit(tokOther, "")
		}
	}
	return false
}

func (s *sqlScanner) emit(tok int, text string) bool {
	if s.err != "" {
		return false
	}
	s.tok, s.text = tok, text
	if s.first == "" && tok != tokWord {
		s.first = notKeyword
	}
	return true
}

func (s *sqlScanner) peek(k int) byte {
	if s.i+k < len(s.src) {
		return s.src[s.i+k]
	}
	return 0
}

func (s *sqlScanner) skipLine() {
	for s.i < len(s.src) && s.src[s.i] != '\n' {
		s.i++
	}
}

func (s *sqlScanner) skipBlock() {
	end := strings.Index(s.src[s.i+2:], "*/")
	if end < 0 {
		s.err = fmt.Sprintf("unterminated /* comment starting at position %d", s.i+1)
		s.i = len(s.src)
		return
	}
	s.i += 2 + end + 2
}

// skipQuoted skips a literal or quoted identifier opened by q, honouring
// backslash escapes and doubled quotes.
func (s *sqlScanner) skipQuoted(q byte) {
	start := s.i
	s.i++
	for s.i < len(s.src) {
		switch s.src[s.i] {
		case '\\':
			s.i += 2
			continue
		case q:
			if s.peek(1) == q {
				s.i += 2
				continue
			}
			s.i++
			return
		}
		s.i++
	}
	what := "string literal"
	if q != '\'' {
		what = "quoted identifier"
	}
	s.err = fmt.Sprintf("unterminated %s starting at position %d", what, start+1)
}

func isIdentStart(c byte) bool {
	return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
}

func isIdentChar(c byte) bool {
	return isIdentStart(c) || (c >= '0' && c <= '9')
}

// placeholders returns the @name placeholders of sql outside literals and
// comments, in order of first appearance.
func placeholders(sql string) ([]string, error) {
	var sc sqlScanner
	sc.src = sql
	seen := map[string]bool{}
	var out []string
	for sc.next() {
		if sc.tok == tokParam && !seen[sc.text] {
			seen[sc.text] = true
			out = append(out, sc.text)
		}
	}
	if sc.err != "" {
		return nil, fmt.Errorf("%s", sc.err)
	}
	return out, nil
}
