package client

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/privaudit/privaudit/audit"
)

// fakeServer answers 503 with Retry-After for the first n requests, then
// accepts everything, remembering each body.
type fakeServer struct {
	mu     sync.Mutex
	refuse int
	calls  int
	bodies []string
	reject func(body string) (int, string)
}

func (f *fakeServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if r.Header.Get("Authorization") != "Bearer tok" {
		w.WriteHeader(401)
		io.WriteString(w, `{"error":{"code":"unauthorized","message":"unknown or revoked token"}}`)
		return
	}
	if f.refuse > 0 {
		f.refuse--
		w.Header().Set("Retry-After", "0")
		w.WriteHeader(503)
		return
	}
	if f.reject != nil {
		if code, body := f.reject(string(b)); code != 0 {
			w.WriteHeader(code)
			io.WriteString(w, body)
			return
		}
	}
	f.bodies = append(f.bodies, string(b))
	n := strings.Count(string(b), "\n")
	io.WriteString(w, `{"received":`+strconv.Itoa(n)+`,"accepted":`+strconv.Itoa(n)+`,"duplicates":0,"durable":true}`)
}

func lines(n int) string {
	var b strings.Builder
	for i := 0; i < n; i++ {
		b.WriteString(`{"n":` + strconv.Itoa(i) + "}\n\n")
	}
	return b.String()
}

func TestSendRetries503AndLosesNothing(t *testing.T) {
	f := &fakeServer{refuse: 3}
	srv := httptest.NewServer(f)
	defer srv.Close()
	s := New(Options{Server: srv.URL, Token: "tok", ChunkRecords: 10, Parallel: 2})
	if err := s.Send(context.Background(), audit.KindEvents, "f", strings.NewReader(lines(95))); err != nil {
		t.Fatal(err)
	}
	sum := s.Summary()
	if sum.Accepted != 95 || sum.Records != 95 || sum.Retries != 3 {
		t.Fatalf("summary %+v, want 95 accepted after 3 retries", sum)
	}
	total := 0
	for _, b := range f.bodies {
		total += strings.Count(b, "\n")
	}
	if total != 95 {
		t.Fatalf("server received %d records, want 95", total)
	}
	// Chunk buffers are reused: every record arrived intact, exactly once.
	all := strings.Join(f.bodies, "")
	for i := range 95 {
		if n := strings.Count(all, `{"n":`+strconv.Itoa(i)+"}\n"); n != 1 {
			t.Fatalf("record %d arrived %d times", i, n)
		}
	}
}

func TestSendMapsRejectedLinesToFileLines(t *testing.T) {
	f := &fakeServer{reject: func(body string) (int, string) {
		if strings.Contains(body, `{"n":12}`) {
			// The chunk holds n=10..19; n=12 is its 3rd line.
			return 400, `{"error":{"code":"invalid","message":"1 invalid record(s)","details":{"problems":[{"line":3,"field":"action","reason":"not one of read, share"}]}}}`
		}
		return 0, ""
	}}
	srv := httptest.NewServer(f)
	defer srv.Close()
	s := New(Options{Server: srv.URL, Token: "tok", ChunkRecords: 10, Parallel: 1})
	err := s.Send(context.Background(), audit.KindConsents, "consents.ndjson", strings.NewReader(lines(30)))
	if !errors.Is(err, ErrRejected) {
		t.Fatalf("want ErrRejected, got %v", err)
	}
	sum := s.Summary()
	if sum.Rejected != 10 || sum.Accepted != 20 || len(sum.Problems) != 1 {
		t.Fatalf("summary %+v", sum)
	}
	// Lines are separated by blank lines, so record n=12 is on file line 25.
	if p := sum.Problems[0]; p.Line != 25 || p.Field != "action" || p.File != "consents.ndjson" {
		t.Fatalf("problem %+v, want consents.ndjson:25 field action", p)
	}
}

func TestSendBadTokenIsFinal(t *testing.T) {
	f := &fakeServer{}
	srv := httptest.NewServer(f)
	defer srv.Close()
	s := New(Options{Server: srv.URL, Token: "wrong", MaxWait: time.Second})
	err := s.Send(context.Background(), audit.KindEvents, "f", strings.NewReader(lines(3)))
	if err == nil || !strings.Contains(err.Error(), "PRIVAUDIT_TOKEN") {
		t.Fatalf("want a token error with a hint, got %v", err)
	}
	if f.calls != 1 {
		t.Fatalf("a 401 must not be retried; %d calls", f.calls)
	}
}

func TestSendGivesUpAfterMaxWait(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(502)
	}))
	defer srv.Close()
	s := New(Options{Server: srv.URL, Token: "tok", MaxWait: 300 * time.Millisecond})
	err := s.Send(context.Background(), audit.KindEvents, "f", strings.NewReader(lines(3)))
	if err == nil || !strings.Contains(err.Error(), "resend the file") {
		t.Fatalf("want an unavailable error saying what to do, got %v", err)
	}
}
