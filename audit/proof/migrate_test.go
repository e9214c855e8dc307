package proof_test

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"testing"

	"github.com/privaudit/privaudit/audit/ingest/ingesttest"
	"github.com/privaudit/privaudit/audit/proof"
	"github.com/privaudit/privaudit/queries"
)

// TestMigrationCopiesOldLeavesIntoRuns: a log written before migration
// 0110 (one log_leaves row per leaf) is copied into runs when the
// migrations run: 0110 makes each batch whose leaves are consecutive one
// run of log_leaf_runs, the leaves of any other batch a run each, and 0120
// copies those runs into log_runs. verify finds the log as it was: the
// same findings before and after, here a record and its leaf copied past
// the end.
func TestMigrationCopiesOldLeavesIntoRuns(t *testing.T) {
	e := startLog(t)
	e.ingestStory(t)
	meta, db := e.Schema.MetaDB, e.Schema.DB
	key := ingesttest.UID("e-11")
	e.client(t, "INSERT INTO "+db+".access_events SELECT * FROM "+db+".access_events WHERE event_id = '"+key+"'")
	e.client(t, copyLeafSQL(meta, 48, "record_key = '"+key+"'"))
	before := names(t, e.verify(t, e.verifier))
	if want := []string{"copied access_events " + key}; !slices.Equal(before, want) {
		t.Fatalf("before the migration: %q, want %q", before, want)
	}
	runs := e.Count(t, "SELECT count() FROM "+meta+".log_runs")

	e.exec(t, "INSERT INTO "+meta+".log_leaves (leaf_index, kind, record_key, leaf_hash, batch_id, appended_at) "+
		"SELECT leaf_index, kind, record_key, leaf_hash, batch_id, appended_at FROM "+meta+".log_leaf_rows")
	e.exec(t, "TRUNCATE TABLE "+meta+".log_leaf_runs")
	e.exec(t, "TRUNCATE TABLE "+meta+".log_runs")
	e.exec(t, "ALTER TABLE "+meta+".schema_migrations DELETE WHERE version IN (110, 120)")
	for range 2 { // a second run copies nothing more
		if err := queries.Migrate(context.Background(), e.Conn, e.Schema, slog.Default()); err != nil {
			t.Fatal(err)
		}
		e.exec(t, "ALTER TABLE "+meta+".schema_migrations DELETE WHERE version IN (110, 120)")
	}

	// The story's three batches were one run each, plus the copied leaf's;
	// the copy makes its batch's leaves not consecutive: 20 runs of one.
	for _, table := range []string{"log_leaf_runs", "log_runs"} {
		if got, want := e.Count(t, "SELECT count() FROM "+meta+"."+table), runs-2+20+1; got != want {
			t.Errorf("%d runs in %s after the migrations, want %d (%d before)", got, table, want, runs)
		}
	}
	if got := e.Count(t, "SELECT count() FROM "+meta+".log_leaf_rows"); got != 49 {
		t.Errorf("%d leaves after the migration, want 49", got)
	}
	if after := names(t, e.verify(t, e.verifier)); !slices.Equal(after, before) {
		t.Fatalf("after the migration: %q, want %q as before it", after, before)
	}
}

// TestVerifyReportsRunWithMissingHashes: a run whose hashes were cut short
// by hand cannot say which hash is whose leaf; verify reports each of its
// leaves malformed and the records they held as without a leaf.
func TestVerifyReportsRunWithMissingHashes(t *testing.T) {
	e := startLog(t)
	e.ingestStory(t)
	meta := e.Schema.MetaDB
	first := e.Count(t, "SELECT any(first_leaf) FROM "+meta+".log_runs WHERE kind = 'consents'")
	e.exec(t, "ALTER TABLE "+meta+".log_runs UPDATE leaf_hashes = arraySlice(leaf_hashes, 1, 7) WHERE first_leaf = ?", first)
	res := e.verify(t, e.verifier)
	got := names(t, res)
	if res.Counts[proof.LeafMalformed] != 8 {
		t.Errorf("%d leaves malformed, want the run's 8: %q", res.Counts[proof.LeafMalformed], got)
	}
	for i := range 8 {
		if want := "inserted consent_events " + ingesttest.UID(fmt.Sprintf("c-%d", i)); !slices.Contains(got, want) {
			t.Errorf("findings %q lack %q", got, want)
		}
	}
}
