package main

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/privaudit/privaudit/audit/auth"
	"github.com/privaudit/privaudit/reports/schedule"
)

// TestServeDeliversScheduledRun: `privaudit serve` configured with a
// webhook target and public_url delivers a run of its schedule, signed;
// GET /v1/runs/{id} shows the delivery and /metrics counts it.
func TestServeDeliversScheduledRun(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a managed ClickHouse")
	}
	var mu sync.Mutex
	var bodies [][]byte
	var sigOK []bool
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		m := hmac.New(sha256.New, []byte("hook key"))
		m.Write([]byte(r.Header.Get(schedule.HeaderWebhookTimestamp) + "."))
		m.Write(body)
		mu.Lock()
		bodies = append(bodies, body)
		sigOK = append(sigOK, hmac.Equal([]byte("sha256="+hex.EncodeToString(m.Sum(nil))), []byte(r.Header.Get(schedule.HeaderWebhookSignature))))
		mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	defer hook.Close()
	t.Setenv("PRIVAUDIT_TEST_HOOK_KEY", "hook key")

	var logs bytes.Buffer
	m := &Main{Config: DefaultConfig(), Stdout: io.Discard, Stderr: &logs}
	m.Config.DataDir, m.Config.Listen, m.Config.Ingest.Linger = t.TempDir(), "127.0.0.1:0", 20*time.Millisecond
	m.Config.PublicURL = "https://privaudit.bank.example"
	m.Config.Schedules = []schedule.Config{{Name: "nightly", Cron: "0 2 * * *", Report: "disclosures", Period: schedule.PreviousDay,
		Formats: []string{"csv"}, Deliver: []schedule.Target{{Name: "siem", Type: schedule.TargetWebhook, URL: hook.URL,
			SecretEnv: "PRIVAUDIT_TEST_HOOK_KEY"}}}}
	if err := m.Config.Validate(); err != nil {
		t.Fatal(err)
	}
	m.Log = newLogger(&logs, "warn")
	ctx := context.Background()
	srv, err := m.startServer(ctx)
	if err != nil {
		t.Fatalf("serve: %v\n%s", err, logs.String())
	}
	t.Cleanup(func() { _ = srv.Shutdown() })
	tok, err := srv.tokens.Create(ctx, "alice", auth.RoleOfficer)
	if err != nil {
		t.Fatal(err)
	}
	call := func(method, path string, out any) {
		t.Helper()
		req, _ := http.NewRequest(method, srv.URL+path, nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, b)
		}
		if s, ok := out.(*string); ok {
			*s = string(b)
		} else if err := json.Unmarshal(b, out); err != nil {
			t.Fatal(err)
		}
	}
	var run schedule.Run
	call(http.MethodPost, "/v1/schedules/nightly/run", &run)
	if run.Status != schedule.StatusSuccess {
		t.Fatalf("run: %+v", run)
	}
	deadline := time.Now().Add(time.Minute)
	var d schedule.Delivery
	for {
		var rr schedule.RunsResponse
		call(http.MethodGet, "/v1/runs/"+run.ID, &rr)
		if len(rr.Runs) == 1 && len(rr.Runs[0].Deliveries) == 1 && rr.Runs[0].Deliveries[0].Status == schedule.DeliveryDelivered {
			d = rr.Runs[0].Deliveries[0]
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no delivery after a minute: %+v", rr.Runs)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if d.Target != "siem" || len(d.Attempts) != 2 || d.Attempts[1].Detail != "HTTP 204" {
		t.Errorf("delivery: %+v", d)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(bodies) != 1 || !sigOK[0] {
		t.Fatalf("%d webhook requests, signatures ok: %v", len(bodies), sigOK)
	}
	var p schedule.WebhookPayload
	if err := json.Unmarshal(bodies[0], &p); err != nil {
		t.Fatal(err)
	}
	name := run.Files[0].Name
	if want := "https://privaudit.bank.example/v1/runs/" + run.ID + "/files/" + name; p.Links[name] != want {
		t.Errorf("link %q, want %q", p.Links[name], want)
	}
	var metrics string
	call(http.MethodGet, "/metrics", &metrics)
	if want := `privaudit_delivery_attempts_total{outcome="delivered",target_type="webhook"} 1`; !strings.Contains(metrics, want) {
		t.Errorf("metrics lack %s", want)
	}
}
