package queries

import "strings"

// The bounds on an ad-hoc statement's shape, checked before ClickHouse
// parses it: ClickHouse 18.16's recursive parser runs out of stack on a
// few kilobytes of deep nesting and takes the whole server down. The
// reader's settings profile (max_ast_depth, max_ast_elements,
// max_expanded_ast_elements, max_query_size; see audit/chserver) bounds
// what parses; these bounds keep what cannot parse safely away from the
// parser. Every saved query and report is far inside them.
const (
	// MaxQueryBytes is the longest statement accepted, as ClickHouse's
	// max_query_size in the reader profile.
	MaxQueryBytes = 256 << 10
	// MaxQueryDepth bounds nesting of every kind: parentheses (function
	// calls, subqueries, tuples), brackets (arrays), CASE … END, and runs
	// of unary operators (NOT, -), which nest without parentheses.
	MaxQueryDepth = 64
	// MaxQueryTokens bounds the statement's size in tokens (words,
	// literals, operators); it also bounds chains of binary operators,
	// which ClickHouse turns into deep trees.
	MaxQueryTokens = 20_000
	// MaxListItems bounds the items of one list: the elements of an IN
	// list, tuple or array, a function's arguments, or a SELECT list.
	MaxListItems = 5_000
)

// queryShape measures a statement token by token as CheckStatement scans
// it: its deepest nesting, its token count and its longest list.
type queryShape struct {
	started  bool
	open     []byte // the open '(', '[' and CASEs ('C'), innermost last
	unary    int    // length of the current run of unary operators
	maxDepth int    // deepest len(open)+unary seen
	tokens   int    // tokens seen
	items    []int  // items so far of each open list; items[0] is the top level
	maxItems int
}

// observe accounts for the scanner's current token.
func (q *queryShape) observe(sc *sqlScanner) {
	if !q.started {
		q.started = true
		q.items = []int{1}
		for range sc.lead {
			q.push('(')
		}
	}
	q.tokens++
	var c byte
	if sc.tok == tokOther && sc.i == sc.pos+1 {
		c = sc.src[sc.pos] // a one-character operator or bracket
	}
	switch {
	case c == '-' || (sc.tok == tokWord && strings.EqualFold(sc.text, "NOT")):
		q.unary++
	default:
		q.unary = 0
	}
	switch {
	case c == '(' || c == '[':
		q.push(c)
	case sc.tok == tokWord && strings.EqualFold(sc.text, "CASE"):
		q.push('C')
	case c == ')':
		q.pop('(')
	case c == ']':
		q.pop('[')
	case sc.tok == tokWord && strings.EqualFold(sc.text, "END"):
		q.pop('C')
	case c == ',':
		q.items[len(q.items)-1]++
		q.maxItems = max(q.maxItems, q.items[len(q.items)-1])
	}
	q.maxDepth = max(q.maxDepth, len(q.open)+q.unary)
}

func (q *queryShape) push(opener byte) {
	q.open = append(q.open, opener)
	q.items = append(q.items, 1)
}

// pop closes the innermost level if opener opened it. A closer that does
// not match (a column named end, or a syntax error for ClickHouse to
// report) leaves the depth as it is, so it cannot hide nesting.
func (q *queryShape) pop(opener byte) {
	if n := len(q.open); n > 0 && q.open[n-1] == opener {
		q.open = q.open[:n-1]
		q.items = q.items[:len(q.items)-1]
	}
}

// check refuses a statement past one of the bounds, naming it.
func (q *queryShape) check() error {
	switch {
	case q.maxDepth > MaxQueryDepth:
		return refused("query refused: it nests %d levels deep (parentheses, brackets, CASE and unary operators count); the limit is %d: flatten it, for example with WITH or a join", q.maxDepth, MaxQueryDepth)
	case q.tokens > MaxQueryTokens:
		return refused("query refused: it has %d tokens (words, literals and operators); the limit is %d: split it into smaller queries", q.tokens, MaxQueryTokens)
	case q.maxItems > MaxListItems:
		return refused("query refused: one of its lists has %d items; the limit is %d: put long value lists in a table or split the query", q.maxItems, MaxListItems)
	}
	return nil
}

// checkSize refuses a statement longer than MaxQueryBytes before it is scanned.
func checkSize(sql string) error {
	if len(sql) > MaxQueryBytes {
		return refused("query refused: it is %d bytes long; the limit is %d: split it into smaller queries", len(sql), MaxQueryBytes)
	}
	return nil
}
