package main

import (
	"context"
	"log/slog"
	"path/filepath"
	"testing"

	"github.com/ClickHouse/clickhouse-go/v2"

	"github.com/privaudit/privaudit/audit/chserver"
	"github.com/privaudit/privaudit/audit/store"
	"github.com/privaudit/privaudit/queries"
)

// writtenTable is a table the ingest writers fill, with its record-id column.
type writtenTable struct{ name, id string }

// The tables the ingest writers fill: the records, and the key-hash tables
// their materialized views fill.
var (
	eventsTable      = writtenTable{"privaudit.access_events", "event_id"}
	consentsTable    = writtenTable{"privaudit.consent_events", "consent_event_id"}
	eventKeysTable   = writtenTable{"privaudit_meta.event_key_hashes", "event_id"}
	consentKeysTable = writtenTable{"privaudit_meta.consent_key_hashes", "consent_event_id"}
)

// rawRows counts tbl's raw rows — without FINAL, which would collapse a
// replayed copy into its original — and returns the total, the distinct
// ids, and up to ten ids stored more than once.
func rawRows(ctx context.Context, conn clickhouse.Conn, tbl writtenTable) (total, distinct uint64, dups []string, err error) {
	if err := conn.QueryRow(ctx, "SELECT count(), uniqExact("+tbl.id+") FROM "+tbl.name).Scan(&total, &distinct); err != nil {
		return 0, 0, nil, err
	}
	rows, err := conn.Query(ctx, "SELECT "+tbl.id+" FROM "+tbl.name+" GROUP BY "+tbl.id+" HAVING count() > 1 ORDER BY "+tbl.id+" LIMIT 10")
	if err != nil {
		return 0, 0, nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return 0, 0, nil, err
		}
		dups = append(dups, id)
	}
	return total, distinct, dups, rows.Err()
}

// checkRawRows fails t unless tbl holds exactly one raw row for each of
// want distinct ids.
func checkRawRows(t *testing.T, conn clickhouse.Conn, tbl writtenTable, want uint64) {
	t.Helper()
	total, distinct, dups, err := rawRows(context.Background(), conn, tbl)
	if err != nil {
		t.Fatalf("%s: %v", tbl.name, err)
	}
	if len(dups) > 0 || total != distinct {
		t.Fatalf("%s: %d raw rows for %d distinct ids; stored more than once: %v", tbl.name, total, distinct, dups)
	}
	if distinct != want {
		t.Fatalf("%s: %d distinct ids, want %d", tbl.name, distinct, want)
	}
}

// TestRawRowsSeesReplayedDuplicate stores one key twice, as a replayed
// insert would before ReplacingMergeTree merges it away, and checks that
// rawRows reports it though a count through FINAL does not.
func TestRawRowsSeesReplayedDuplicate(t *testing.T) {
	ctx := context.Background()
	log := slog.New(slog.DiscardHandler)
	ch, err := chserver.Start(ctx, chserver.Options{Dir: filepath.Join(t.TempDir(), "clickhouse"), Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	defer ch.Stop(context.Background())
	conn, err := store.Open(ctx, store.Options{Addrs: []string{ch.Addr}, User: ch.AdminUser, Password: ch.AdminPassword, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := store.Migrate(ctx, conn, queries.DefaultSchema, log); err != nil {
		t.Fatal(err)
	}
	ins := "INSERT INTO " + eventKeysTable.name + " (key, event_id) SELECT cityHash64(id), id FROM (SELECT arrayJoin(?) AS id)"
	if err := conn.Exec(ctx, ins, []string{"a", "b"}); err != nil {
		t.Fatal(err)
	}
	if err := conn.Exec(ctx, ins, []string{"b"}); err != nil { // the replay, a second part
		t.Fatal(err)
	}
	var final uint64
	if err := conn.QueryRow(ctx, "SELECT count() FROM "+eventKeysTable.name+" FINAL").Scan(&final); err != nil {
		t.Fatal(err)
	}
	if final != 2 {
		t.Fatalf("FINAL counts %d rows, want 2 (the copy collapsed)", final)
	}
	total, distinct, dups, err := rawRows(ctx, conn, eventKeysTable)
	if err != nil {
		t.Fatal(err)
	}
	if total != 3 || distinct != 2 || len(dups) != 1 || dups[0] != "b" {
		t.Fatalf("rawRows = %d rows, %d distinct, duplicates %v; want 3, 2, [b]", total, distinct, dups)
	}
}
