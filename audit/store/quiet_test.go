package store

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
)

// TestQuietHandlerDemotesAndRedacts: clickhouse-go's errors reach privaudit's
// log at debug only, without the query or exception text, and its version
// warning not at all.
func TestQuietHandlerDemotesAndRedacts(t *testing.T) {
	var buf bytes.Buffer
	info := slog.New(quietHandler{slog.NewTextHandler(&buf, nil)})
	info.Error("query processing failed", "conn_id", 2, "error", "code: 60, customer cust-0042")
	info.Warn("server exception received", "error", "code: 60, customer cust-0042")
	if buf.Len() > 0 {
		t.Errorf("at level info, clickhouse-go's errors reached the log:\n%s", buf.String())
	}
	debug := slog.New(quietHandler{slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})})
	debug.Error("query processing failed", "conn_id", 2, "error", "code: 60, customer cust-0042", "sql", "SELECT 'cust-0042'")
	debug.Warn("unsupported clickhouse version", "version", "18.16")
	out := buf.String()
	if !strings.Contains(out, "level=DEBUG") || !strings.Contains(out, `msg="query processing failed" conn_id=2`) {
		t.Errorf("at level debug, clickhouse-go's error is not logged at debug with its connection:\n%s", out)
	}
	if strings.Contains(out, "cust-0042") || strings.Contains(out, "unsupported") || strings.Contains(out, "ERROR") {
		t.Errorf("the log carries query or exception text, the version warning, or an ERROR:\n%s", out)
	}
}
