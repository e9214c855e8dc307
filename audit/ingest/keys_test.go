package ingest_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/privaudit/privaudit/audit"
	"github.com/privaudit/privaudit/audit/ingest"
	"github.com/privaudit/privaudit/audit/ingest/ingesttest"
)

// The writer's key filter hashes keys in Go; the key table hashes them in
// ClickHouse. Both must agree, or stored keys would never be found.
func TestKeyHashIsClickHouseCityHash64(t *testing.T) {
	env := ingesttest.Start(t, ingesttest.Options{})
	for _, k := range []string{"", "a", uuidN(7), "0e6f5c8a-4b1d-4c8e-9a3f-2d7b1e5c9f04", "ümlaut-ключ-鍵", string(make([]byte, 300))} {
		var got uint64
		if err := env.Conn.QueryRow(context.Background(), "SELECT cityHash64(?)", k).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if want := ingest.KeyHash(k); got != want {
			t.Fatalf("cityHash64(%q): ClickHouse %d, Go %d", k, got, want)
		}
	}
}

// A writer started afresh loads every stored key into its filter, so a
// resend after a restart is still recognised.
func TestDuplicatesAfterRestartAreSkipped(t *testing.T) {
	env := ingesttest.Start(t, ingesttest.Options{})
	env.Ingest(t, audit.KindEvents, events(0, 300))
	ctx := context.Background()
	in2, err := ingest.Open(ctx, ingest.Options{SpoolDir: filepath.Join(t.TempDir(), "spool"), Linger: 20 * time.Millisecond,
		Conn: env.Conn, Schema: env.Schema, Logger: env.Log})
	if err != nil {
		t.Fatal(err)
	}
	in2.Start()
	defer in2.Close(ctx)
	evs, err := audit.DecodeEvents(strings.NewReader(events(200, 200)), audit.DecodeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := in2.Record(ctx, evs...); err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := in2.WaitStored(wctx); err != nil {
		t.Fatal(err)
	}
	if n := env.Count(t, "SELECT count() FROM privaudit.access_events"); n != 400 {
		t.Fatalf("stored %d rows, want 400 (300, then 100 new of 200 resent)", n)
	}
	if n := env.Count(t, "SELECT count() FROM privaudit_meta.event_key_hashes"); n != 400 {
		t.Fatalf("%d key hashes, want 400", n)
	}
}
