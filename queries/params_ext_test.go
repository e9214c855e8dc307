package queries

import (
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
)

func TestExternalArgs(t *testing.T) {
	since := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	sql, rest, opt, err := ExternalArgs("SELECT '@who' FROM t WHERE (@who = '' OR a = @who) AND d >= @since -- @who\n",
		[]any{clickhouse.Named("who", "cust-1"), clickhouse.Named("since", since)})
	if err != nil {
		t.Fatal(err)
	}
	want := "SELECT '@who' FROM t WHERE ((SELECT `who` FROM privaudit_params) = '' OR a = (SELECT `who` FROM privaudit_params)) AND d >= @since -- @who\n"
	if sql != want || len(rest) != 1 || opt == nil {
		t.Errorf("ExternalArgs = %q, %v, %v; want %q and @since left to the driver", sql, rest, opt, want)
	}
	sql, rest, opt, err = ExternalArgs("SELECT @n", []any{clickhouse.Named("n", 5)})
	if err != nil || sql != "SELECT @n" || len(rest) != 1 || opt != nil {
		t.Errorf("no String argument: %q, %v, %v, %v", sql, rest, opt, err)
	}
}
