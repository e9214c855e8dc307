package sqlconsole

import (
	"context"
	"fmt"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"

	"github.com/privaudit/privaudit/audit"
	"github.com/privaudit/privaudit/queries"
)

// recentDays bounds how far back Recent looks.
const recentDays = 90

// RecentRun is one query run read back from the officers' trail: what was
// run (an ad-hoc statement as recorded, or a saved query and the names of
// its parameters, never their values) and how it ended.
type RecentRun struct {
	EventID   string
	At        time.Time
	Saved     string
	SQL       string // the statement run; for a saved query its rendered body
	Params    string // the names of the parameters given, comma-separated
	Status    string // ok, refused or error
	ErrorKind string
	Format    string
	Truncated bool
	Rows      int64
}

// Recent returns the last n query runs recorded under actor's name in the
// last 90 days, newest first, read through the reader connection. Reading
// them back is not itself recorded.
func (c *Console) Recent(ctx context.Context, actor string, n int) ([]RecentRun, error) {
	sql, err := queries.Trail("recent_queries", c.o.Schema)
	if err != nil {
		return nil, err
	}
	res, err := c.o.Runner.Query(ctx, queries.Query{SQL: sql, User: actor, Args: []any{
		clickhouse.Named("recipient", audit.TrailRecipient), clickhouse.Named("days", uint64(recentDays)),
		clickhouse.Named("actor", actor), clickhouse.Named("subject", SubjectID),
		clickhouse.Named("purpose", Purpose), clickhouse.Named("limit", uint64(max(n, 1))),
	}})
	if err != nil {
		return nil, fmt.Errorf("read the recent queries: %w", err)
	}
	defer res.Close()
	var out []RecentRun
	for res.Next() {
		v := res.Values()
		r := RecentRun{EventID: str(v[0]), Saved: str(v[2]), SQL: str(v[3]), Params: str(v[4]),
			Status: str(v[5]), ErrorKind: str(v[6]), Format: str(v[7])}
		if ns, ok := v[1].(int64); ok {
			r.At = time.Unix(0, ns).UTC()
		}
		r.Truncated = v[8] == int64(1) || v[8] == true
		r.Rows, _ = v[9].(int64)
		out = append(out, r)
	}
	if err := res.Err(); err != nil {
		return nil, fmt.Errorf("read the recent queries: %w", err)
	}
	return out, nil
}

func str(v any) string {
	s, _ := v.(string)
	return s
}
