package schedule

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"
)

// Webhook headers. The signature is HMAC-SHA256, keyed with the target's
// secret, over the timestamp, a '.', and the body exactly as received:
// see SignWebhook.
const (
	HeaderWebhookSignature = "X-Privaudit-Signature" // "sha256=" + hex
	HeaderWebhookTimestamp = "X-Privaudit-Timestamp" // Unix seconds, signed with the body
	HeaderWebhookDelivery  = "X-Privaudit-Delivery"  // RUN_ID/TARGET: the same on every retry, for deduplication
	HeaderWebhookAttempt   = "X-Privaudit-Attempt"   // 1, 2, …
)

// WebhookEvent is the event of every webhook delivery.
const WebhookEvent = "report_run.succeeded"

// WebhookPayload is the JSON body a webhook target receives.
type WebhookPayload struct {
	Event  string `json:"event"`
	Target string `json:"target"`
	// Run is the successful attempt, as GET /v1/runs/{id} shows it
	// (without deliveries).
	Run Run `json:"run"`
	// Links are the files' download addresses under the public URL, by
	// file name (absent without public_url).
	Links map[string]string `json:"links,omitempty"`
}

// SignWebhook returns the signature header value of a webhook body sent
// at the Unix time ts: "sha256=" + hex(HMAC-SHA256(secret, ts + "." + body)).
func SignWebhook(secret []byte, ts int64, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(strconv.FormatInt(ts, 10)))
	m.Write([]byte("."))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// webhookClient follows no redirect: a redirect is an answer, not a
// delivery.
var webhookClient = &http.Client{
	Timeout:       deliveryTimeout,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

// sendWebhook POSTs r's record to t, signed.
func (s *Scheduler) sendWebhook(ctx context.Context, t *target, r Run, attempt int) (string, error) {
	secret, err := readSecret("secret", t.cfg.SecretFile, t.cfg.SecretEnv)
	if err != nil {
		return "", permanent(err)
	}
	p := WebhookPayload{Event: WebhookEvent, Target: t.cfg.Name, Run: r}
	p.Run.Deliveries = nil
	for _, f := range r.Files {
		if u := s.fileURL(r, f.Name); u != "" {
			if p.Links == nil {
				p.Links = map[string]string{}
			}
			p.Links[f.Name] = u
		}
	}
	body, err := json.Marshal(p)
	if err != nil {
		return "", permanent(fmt.Errorf("webhook body: %w", err))
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.cfg.URL, bytes.NewReader(body))
	if err != nil {
		return "", permanent(fmt.Errorf("webhook request: %w", err))
	}
	ts := s.now().Unix()
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "privaudit")
	req.Header.Set(HeaderWebhookTimestamp, strconv.FormatInt(ts, 10))
	req.Header.Set(HeaderWebhookSignature, SignWebhook(secret, ts, body))
	req.Header.Set(HeaderWebhookDelivery, r.ID+"/"+t.cfg.Name)
	req.Header.Set(HeaderWebhookAttempt, strconv.Itoa(attempt))
	return postWebhook(req)
}

// postWebhook sends req and reads the answer: a 2xx is delivered, a 429 or
// 5xx is worth a retry (after the Retry-After it asks), the rest is
// permanent. The detail is the HTTP status; errors never name the URL.
func postWebhook(req *http.Request) (string, error) {
	resp, err := webhookClient.Do(req)
	if err != nil {
		return "", fmt.Errorf("webhook POST: %w", errors.Unwrap(err))
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	detail := "HTTP " + strconv.Itoa(resp.StatusCode)
	switch c := resp.StatusCode; {
	case c >= 200 && c < 300:
		return detail, nil
	case c == http.StatusTooManyRequests || c >= 500:
		err := fmt.Errorf("webhook answered %s", resp.Status)
		if wait := retryAfter(resp.Header.Get("Retry-After")); wait > 0 {
			return detail, &retryAfterError{err: err, wait: wait}
		}
		return detail, err
	}
	return detail, permanent(fmt.Errorf("webhook answered %s; a 3xx or 4xx is not retried: check the URL and the receiver's secret", resp.Status))
}

// retryAfter reads a Retry-After header in seconds (0 if absent or not
// seconds).
func retryAfter(v string) time.Duration {
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		return 0
	}
	return time.Duration(n) * time.Second
}
