package reports

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/privaudit/privaudit/audit/ingest/ingesttest"
)

// textConn is the real connection, noting the text and arguments of every
// query: the driver binds arguments into the text it sends.
type textConn struct {
	driver.Conn
	mu    sync.Mutex
	texts []string
}

func (c *textConn) Query(ctx context.Context, sql string, args ...any) (driver.Rows, error) {
	c.mu.Lock()
	c.texts = append(c.texts, sql+fmt.Sprint(args...))
	c.mu.Unlock()
	return c.Conn.Query(ctx, sql, args...)
}

// TestSubjectIDStaysOutOfQueryText: the subject-access report, detail and
// summaries, finds the customer's rows without the customer id in any
// query's text or driver-bound arguments (it travels as an external table).
func TestSubjectIDStaysOutOfQueryText(t *testing.T) {
	env := goldenEnv(t, ingesttest.Options{})
	conn := &textConn{Conn: env.Conn}
	r, err := NewRunner(Options{Conn: conn, Schema: env.Schema, Recorder: (&recorder{}).record, Version: "test", Logger: env.Log})
	if err != nil {
		t.Fatal(err)
	}
	const customer = "cust-01"
	res, err := r.Run(context.Background(), RunRequest{Report: "subject-access", From: octFrom, To: octTo,
		Params: map[string]string{"subject_id": customer}, Format: "xlsx", Actor: "test-officer", Out: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	if res.Rows == 0 {
		t.Fatal("the report found no rows for the customer")
	}
	if len(conn.texts) < 2 {
		t.Fatalf("%d queries noted, want the detail and the summaries", len(conn.texts))
	}
	for _, text := range conn.texts {
		if strings.Contains(text, customer) {
			t.Errorf("the customer id is in a query's text or bound arguments: %s", text)
		}
	}
}
