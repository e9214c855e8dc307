package ingest

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/privaudit/privaudit/audit"
)

// spoolNearlyFull is the share of a spool's limit past which the ingestor
// is not ready: requests are refused at the limit itself.
const spoolNearlyFull = 0.9

// Readiness lists why the ingestor cannot accept and store records now, or
// nothing when it can: ClickHouse does not answer, a writer's stored-key
// filter is still loading (records wait in the spool), or a spool has
// failed or is past 90% of its limit.
func (in *Ingestor) Readiness(ctx context.Context) []string {
	var reasons []string
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := in.o.Conn.Ping(pctx); err != nil {
		reasons = append(reasons, "clickhouse: "+err.Error())
	}
	for _, k := range []audit.Kind{audit.KindEvents, audit.KindConsents} {
		if w := in.writers[k]; w != nil && !w.filterLoaded() {
			reasons = append(reasons, fmt.Sprintf("%s key filter: loading the stored keys; records wait in the spool until it is loaded", k))
		}
		sp := in.spools[k]
		if sp == nil {
			continue
		}
		if err := sp.Err(); err != nil {
			reasons = append(reasons, fmt.Sprintf("%s spool: %v", k, err))
		}
		st := sp.Stats()
		if used := st.PendingBytes + st.QueuedBytes; float64(used) > spoolNearlyFull*float64(st.MaxBytes) {
			reasons = append(reasons, fmt.Sprintf("%s spool: %d bytes waiting for ClickHouse, past 90%% of its limit of %d bytes; new records are refused at the limit", k, used, st.MaxBytes))
		}
	}
	slices.Sort(reasons)
	return reasons
}

// ReadyHandler serves the readiness probe (GET /readyz): 200
// {"ready":true}, or 503 {"ready":false,"reasons":[…]} naming each reason.
// Liveness (/healthz) is separate: a process that is not ready is alive.
func (in *Ingestor) ReadyHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		reasons := in.Readiness(r.Context())
		if len(reasons) > 0 {
			writeJSON(w, http.StatusServiceUnavailable, map[string]any{"ready": false, "reasons": reasons})
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"ready": true})
	})
}
