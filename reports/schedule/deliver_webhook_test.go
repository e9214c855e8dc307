package schedule

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/privaudit/privaudit/audit/ingest/ingesttest"
)

// webhookReceiver is an httptest server on loopback that checks each
// request's signature as the README tells a receiver to, and answers the
// n-th request (from 1) with status(n).
type webhookReceiver struct {
	*httptest.Server
	secret []byte
	mu     sync.Mutex
	bodies [][]byte
	hdrs   []http.Header
	bad    int // requests whose signature did not verify
}

func newWebhookReceiver(t *testing.T, secret string, status func(n int) (int, string)) *webhookReceiver {
	w := &webhookReceiver{secret: []byte(secret)}
	w.Server = httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		ts := r.Header.Get(HeaderWebhookTimestamp)
		m := hmac.New(sha256.New, w.secret)
		m.Write([]byte(ts + "."))
		m.Write(body)
		want := "sha256=" + hex.EncodeToString(m.Sum(nil))
		w.mu.Lock()
		if !hmac.Equal([]byte(want), []byte(r.Header.Get(HeaderWebhookSignature))) {
			w.bad++
		}
		w.bodies, w.hdrs = append(w.bodies, body), append(w.hdrs, r.Header.Clone())
		n := len(w.bodies)
		w.mu.Unlock()
		code, retryAfter := status(n)
		if retryAfter != "" {
			rw.Header().Set("Retry-After", retryAfter)
		}
		rw.WriteHeader(code)
	}))
	t.Cleanup(w.Close)
	return w
}

func (w *webhookReceiver) count() (n, bad int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.bodies), w.bad
}

// testWebhookRetries: 503 twice (once asking for a longer wait), then 204:
// three signed requests, the same delivery id on each.
func testWebhookRetries(t *testing.T, env *ingesttest.Env) {
	hook := newWebhookReceiver(t, "k2", func(n int) (int, string) {
		switch n {
		case 1:
			return http.StatusServiceUnavailable, "600"
		case 2:
			return http.StatusBadGateway, ""
		}
		return http.StatusNoContent, ""
	})
	t.Setenv("PRIVAUDIT_TEST_HOOK_SECRET", "k2")
	c := cfg("hook-retry")
	c.Deliver = []Target{{Name: "siem", Type: TargetWebhook, URL: hook.URL, SecretEnv: "PRIVAUDIT_TEST_HOOK_SECRET"}}
	sl := &sleeper{}
	s := newDeliveryScheduler(t, env, []Config{c}, (&fakeRun{}).run, sl, "")
	run, err := s.RunNow(context.Background(), c.Name)
	if err != nil {
		t.Fatal(err)
	}
	d := deliveredRun(t, s, run.ID, 1).Deliveries[0]
	if want := []string{"0:pending", "1:retry", "2:retry", "3:delivered"}; !slices.Equal(outcomes(d), want) {
		t.Fatalf("tries %v, want %v", outcomes(d), want)
	}
	if n, bad := hook.count(); n != 3 || bad != 0 {
		t.Fatalf("%d requests, %d badly signed", n, bad)
	}
	for i, h := range hook.hdrs {
		if h.Get(HeaderWebhookDelivery) != run.ID+"/siem" || h.Get(HeaderWebhookAttempt) != strconv.Itoa(i+1) {
			t.Errorf("request %d headers %v", i+1, h)
		}
	}
	if w := sl.recorded(); len(w) != 2 || w[0] != 10*time.Minute {
		t.Errorf("waits %v: the first must honour Retry-After: 600 (10m)", w)
	}
}

// testWebhookNoRetryStorm: a receiver that always fails gets exactly
// max_attempts requests; one that rejects (4xx) gets exactly one.
func testWebhookNoRetryStorm(t *testing.T, env *ingesttest.Env) {
	down := newWebhookReceiver(t, "k", func(int) (int, string) { return http.StatusInternalServerError, "" })
	reject := newWebhookReceiver(t, "k", func(int) (int, string) { return http.StatusUnauthorized, "" })
	key := secretFile(t, "k")
	c := cfg("hook-storm")
	c.Deliver = []Target{
		{Name: "down", Type: TargetWebhook, URL: down.URL, SecretFile: key, MaxAttempts: 3},
		{Name: "reject", Type: TargetWebhook, URL: reject.URL, SecretFile: key},
	}
	s := newDeliveryScheduler(t, env, []Config{c}, (&fakeRun{}).run, &sleeper{}, "")
	run, err := s.RunNow(context.Background(), c.Name)
	if err != nil {
		t.Fatal(err)
	}
	got := deliveredRun(t, s, run.ID, 2)
	byName := map[string]Delivery{}
	for _, d := range got.Deliveries {
		byName[d.Target] = d
	}
	if o := outcomes(byName["down"]); !slices.Equal(o, []string{"0:pending", "1:retry", "2:retry", "3:failed"}) {
		t.Errorf("down: %v", o)
	}
	if o := outcomes(byName["reject"]); !slices.Equal(o, []string{"0:pending", "1:failed"}) {
		t.Errorf("reject: %v", o)
	}
	if n, _ := down.count(); n != 3 {
		t.Errorf("always-failing receiver got %d requests, want 3 (max_attempts)", n)
	}
	if n, _ := reject.count(); n != 1 {
		t.Errorf("rejecting receiver got %d requests, want 1", n)
	}
	if got.Status != StatusSuccess {
		t.Errorf("run %s", got.Status)
	}
}
