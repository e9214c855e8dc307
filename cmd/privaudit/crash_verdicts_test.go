package main

import (
	"context"
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/privaudit/privaudit/audit/ingest/ingesttest"
)

// verdictEvent is access event i of TestKill9VerdictsConsistent: a share
// on the basis of consent, naming its consent or not, for one of 40
// customers, at a time within October 2026.
func verdictEvent(i int) string {
	consent := ""
	if i%2 == 0 {
		consent = fmt.Sprintf(`"consent_id":"kc-%d",`, i%40)
	}
	at := time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(i%600) * time.Hour)
	return fmt.Sprintf(`{"event_id":"00000000-0000-4000-8000-%012d","occurred_at":"%s","actor_id":"svc","actor_type":"service","subject_id":"k%d","action":"share","data_categories":["account_balance"],"recipient_id":"msg","recipient_type":"third_party","purpose":"fraud_alert","legal_basis":"consent",%s"record_count":1}`,
		i, at.Format(time.RFC3339), i%40, consent)
}

// verdictConsent is consent event i: a grant or a withdrawal of one of the
// 40 customers' consents, effective at a time within October 2026, so that
// consents arrive before and after the accesses they decide.
func verdictConsent(i int) string {
	status, purposes := "granted", `["fraud_alert"]`
	if i%3 == 2 {
		status, purposes = "withdrawn", `[]`
	}
	at := time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration((i*7)%600) * time.Hour)
	return fmt.Sprintf(`{"consent_event_id":"00000000-0000-4000-9000-%012d","consent_id":"kc-%d","subject_id":"k%d","recipient_id":"msg","status":"%s","purposes":%s,"data_categories":["account_balance"],"effective_at":"%s","method":"opt_in_app"}`,
		i, i%40, i%40, status, purposes, at.Format(time.RFC3339))
}

// TestKill9VerdictsConsistent kills `privaudit serve` with SIGKILL while
// clients send accesses and consents of the same customers (so events are
// being evaluated and verdicts re-evaluated), restarts it, and checks that
// once the spool is caught up every stored access event has exactly the
// verdict the reference evaluator gives over the whole stored ledger.
func TestKill9VerdictsConsistent(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end crash test")
	}
	bin := buildBinary(t)
	dataDir := t.TempDir()
	srv := startServe(t, bin, dataDir)
	token := createToken(t, bin, dataDir, "ingest")
	load := startMixedLoad(srv.url, token, loadKind{"events", verdictEvent, 50}, loadKind{"consents", verdictConsent, 5})
	waitAcked := time.Now().Add(60 * time.Second)
	for load.count("events") < 2000 || load.count("consents") < 200 {
		if time.Now().After(waitAcked) {
			t.Fatalf("only %d events and %d consents acknowledged in 60s", load.count("events"), load.count("consents"))
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := srv.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	srv.cmd.Wait()
	acked := load.stop()
	t.Logf("%d events and %d consents acknowledged before kill -9", len(acked["events"]), len(acked["consents"]))

	srv2 := startServe(t, bin, dataDir)
	defer func() {
		srv2.cmd.Process.Signal(syscall.SIGTERM)
		srv2.cmd.Wait()
	}()
	conn := attachClickHouse(t, dataDir)
	waitForStoredIn(t, conn, eventsTable, len(acked["events"]))
	waitForStoredIn(t, conn, consentsTable, len(acked["consents"]))
	// The restarted writers replay what the spool holds, re-evaluating as
	// they go: poll until the store agrees, and fail with what still differs.
	deadline := time.Now().Add(90 * time.Second)
	for {
		n, diffs, err := ingesttest.VerdictDiff(context.Background(), conn)
		if err != nil {
			t.Fatal(err)
		}
		if len(diffs) == 0 {
			t.Logf("%d stored verdicts agree with the reference after the restart", n)
			break
		}
		if time.Now().After(deadline) {
			for i, d := range diffs {
				if i < 10 {
					t.Error(d)
				}
			}
			t.Fatalf("%d of %d stored verdicts still wrong or missing 90s after the restart", len(diffs), n)
		}
		time.Sleep(500 * time.Millisecond)
	}
	// And the independent check an operator runs finds it clean too.
	out, err := runVerify(t, dataDir, "--from", "2026-10-01", "--to", "2026-11-01")
	if err != nil {
		t.Fatalf("verify verdicts after the restart: %v\n%s", err, out)
	}
}
