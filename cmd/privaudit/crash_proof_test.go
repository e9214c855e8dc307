package main

import (
	"context"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
)

// waitForLogCovers waits until the proof log holds one leaf per stored
// record, then checks its raw rows: indexes 0..n-1 each once, no record
// with two leaves, and every stored record among the leaves.
func waitForLogCovers(t *testing.T, conn clickhouse.Conn) {
	t.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		var stored, leaves, maxIndex, distinct, unleaved uint64
		err := conn.QueryRow(ctx, `SELECT
			(SELECT uniqExact(event_id) FROM privaudit.access_events) + (SELECT uniqExact(consent_event_id) FROM privaudit.consent_events),
			(SELECT count() FROM privaudit_meta.log_leaf_rows),
			(SELECT max(leaf_index) FROM privaudit_meta.log_leaf_rows),
			(SELECT uniqExact(kind, record_key) FROM privaudit_meta.log_leaf_rows),
			(SELECT count() FROM privaudit.access_events WHERE event_id NOT IN (SELECT record_key FROM privaudit_meta.log_leaf_rows WHERE kind = 'events'))
			+ (SELECT count() FROM privaudit.consent_events WHERE consent_event_id NOT IN (SELECT record_key FROM privaudit_meta.log_leaf_rows WHERE kind = 'consents'))`).
			Scan(&stored, &leaves, &maxIndex, &distinct, &unleaved)
		if err != nil {
			t.Fatal(err)
		}
		if leaves > 0 && (distinct != leaves || maxIndex+1 != leaves) {
			t.Fatalf("proof log: %d leaf rows, %d distinct records, highest index %d: a leaf was added twice or an index skipped", leaves, distinct, maxIndex)
		}
		if leaves > stored {
			t.Fatalf("proof log: %d leaves for %d stored records", leaves, stored)
		}
		if leaves == stored && unleaved == 0 {
			t.Logf("proof log covers all %d stored records", stored)
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("proof log: %d leaves for %d stored records (%d without a leaf) after 2 minutes", leaves, stored, unleaved)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
