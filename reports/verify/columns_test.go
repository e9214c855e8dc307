package verify

import (
	"context"
	"strings"
	"testing"

	"github.com/privaudit/privaudit/audit/ingest/ingesttest"
)

// eventColumns are access_events' columns, event_id first.
const eventColumns = `event_id, occurred_at, occurred_ns, actor_id, actor_type, subject_id, action, data_categories, fields,
	recipient_id, recipient_type, purpose, legal_basis, consent_id, outcome, record_count, channel, jurisdiction, request_id,
	attr_keys, attr_values, ingested_at, ingest_seq, batch_id`

// verdictColumns are access_verdicts' columns.
const verdictColumns = `event_id, occurred_at, occurred_ns, actor_id, actor_type, subject_id, action, data_categories, fields,
	recipient_id, recipient_type, purpose, legal_basis, consent_id, outcome, record_count, channel, jurisdiction, request_id,
	attr_keys, attr_values, ingested_at, ingest_seq, is_disclosure, verdict, verdict_consent_id, verdict_detail,
	missing_categories, is_violation, ledger_position, evaluated_at`

// replaceColumns is verdictColumns with some columns replaced by
// expressions (pairs of name, expression).
func replaceColumns(pairs ...string) string {
	cols := strings.Split(verdictColumns, ",")
	for i, c := range cols {
		for j := 0; j < len(pairs); j += 2 {
			if strings.TrimSpace(c) == pairs[j] {
				cols[i] = " " + pairs[j+1]
			}
		}
	}
	return strings.Join(cols, ",")
}

func exec(t *testing.T, env *ingesttest.Env, sql string, args ...any) {
	t.Helper()
	if err := env.Conn.Exec(context.Background(), sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}
