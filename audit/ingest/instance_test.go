package ingest_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/privaudit/privaudit/audit"
	"github.com/privaudit/privaudit/audit/ingest"
	"github.com/privaudit/privaudit/audit/ingest/ingesttest"
)

// TestBatchIDsUniqueAcrossInstances runs two ingestors, each with its own
// spool, against one database: their first batches must not share a batch
// id, or the second overwrites the first's record in ingest_batches.
func TestBatchIDsUniqueAcrossInstances(t *testing.T) {
	env := ingesttest.Start(t, ingesttest.Options{})
	ctx := context.Background()
	other, err := ingest.Open(ctx, ingest.Options{SpoolDir: filepath.Join(t.TempDir(), "spool"),
		Linger: 20 * time.Millisecond, Conn: env.Conn, Schema: env.Schema, Logger: env.Log})
	if err != nil {
		t.Fatal(err)
	}
	other.Start()
	t.Cleanup(func() {
		cctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = other.Close(cctx)
	})
	env.Ingest(t, audit.KindEvents, events(0, 10))
	mux := http.NewServeMux()
	other.Routes(mux, func(h http.Handler) http.Handler { return h })
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/v1/events", strings.NewReader(events(10, 10))))
	if rec.Code != http.StatusOK {
		t.Fatalf("second instance ingest: %d %s", rec.Code, rec.Body)
	}
	wctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := other.WaitStored(wctx); err != nil {
		t.Fatal(err)
	}
	if n := env.Count(t, "SELECT count() FROM privaudit_meta.ingest_batches WHERE kind = 'events'"); n != 2 {
		t.Fatalf("%d batch records, want 2", n)
	}
	if n := env.Count(t, "SELECT uniqExact(batch_id) FROM privaudit_meta.ingest_batches WHERE kind = 'events'"); n != 2 {
		t.Fatalf("the two instances' batches share a batch id (%d distinct ids for 2 batches)", n)
	}
	if n := env.Count(t, "SELECT uniqExact(batch_id) FROM privaudit.access_events"); n != 2 {
		t.Fatalf("stored events carry %d distinct batch ids, want 2", n)
	}
}
