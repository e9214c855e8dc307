package ingest_test

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/privaudit/privaudit/audit/auth"
	"github.com/privaudit/privaudit/audit/ingest/ingesttest"
)

// gzipOf returns size bytes of fill, gzip-compressed.
func gzipOf(t *testing.T, fill byte, size int) []byte {
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	chunk := bytes.Repeat([]byte{fill}, 1<<20)
	for n := 0; n < size; n += len(chunk) {
		if _, err := zw.Write(chunk[:min(len(chunk), size-n)]); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// postRaw sends body to /v1/events with the ingest token, gzip-encoded if
// gz, and returns the response's status, Retry-After and body.
func postRaw(t *testing.T, env *ingesttest.Env, body io.Reader, gz bool) (int, string, string) {
	req, err := http.NewRequest("POST", env.Server.URL+"/v1/events", body)
	if err != nil {
		t.Error(err)
		return 0, "", ""
	}
	req.Header.Set("Authorization", "Bearer "+env.Token[auth.RoleIngest])
	if gz {
		req.Header.Set("Content-Encoding", "gzip")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Error(err)
		return 0, "", ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Retry-After"), string(b)
}

// procStatus returns a field of /proc/self/status in bytes ("VmRSS").
func procStatus(t *testing.T, field string) int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Skipf("no /proc/self/status: %v", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, field+":"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				t.Fatalf("%s: %v", line, err)
			}
			return kb << 10
		}
	}
	t.Fatalf("no %s in /proc/self/status", field)
	return 0
}

// TestGzipBombsBoundMemory sends four gzip bombs at once to an intake with
// the default limits. Each is refused, naming the decompressed limit, and
// the peak RSS of the process (which runs the HTTP server; ClickHouse is
// a process of its own) grows by at most 256 MiB.
func TestGzipBombsBoundMemory(t *testing.T) {
	env := ingesttest.Start(t, ingesttest.Options{})
	bomb := gzipOf(t, '\n', 300<<20) // past the default 256 MiB decompressed limit
	// Resetting the peak ("5" to clear_refs, Linux 4.0+) makes VmHWM the
	// peak of the bombs alone.
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
		t.Skipf("cannot reset the peak RSS: %v", err)
	}
	base := procStatus(t, "VmRSS")
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			code, retry, body := postRaw(t, env, bytes.NewReader(bomb), true)
			switch {
			case code == http.StatusRequestEntityTooLarge && strings.Contains(body, "decompressed body exceeds 256 MiB (ingest.max_decompressed_bytes)"):
			case code == http.StatusServiceUnavailable && retry != "":
			default:
				t.Errorf("bomb %d: %d %s, want 413 naming ingest.max_decompressed_bytes or 503 with Retry-After", i, code, body)
			}
		}()
	}
	wg.Wait()
	growth := procStatus(t, "VmHWM") - base
	t.Logf("4 concurrent gzip bombs (%d KiB each, 300 MiB decompressed): peak RSS growth %.1f MiB", len(bomb)>>10, float64(growth)/(1<<20))
	if growth > 256<<20 {
		t.Fatalf("peak RSS grew by %d MiB under 4 gzip bombs, want at most 256 MiB", growth>>20)
	}
	if n := env.Count(t, "SELECT count() FROM privaudit.access_events"); n != 0 {
		t.Fatalf("stored %d rows", n)
	}
}

// TestIngestInFlightLimit holds one request open and checks that a second
// one past the in-flight limit is answered 503 with Retry-After, and taken
// once the first is done.
func TestIngestInFlightLimit(t *testing.T) {
	const maxBody, maxDecompressed = 4096, 16384
	env := ingesttest.Start(t, ingesttest.Options{MaxBodyBytes: maxBody, MaxDecompressedBytes: maxDecompressed,
		MaxInFlightBytes: maxBody + maxDecompressed})
	// The held request has no Content-Length: it takes the whole body
	// limit. It is written by hand, so that its headers reach the server
	// before its body does.
	conn, err := net.Dial("tcp", env.Server.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST /v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nTransfer-Encoding: chunked\r\n\r\n", env.Token[auth.RoleIngest])
	deadline := time.Now().Add(60 * time.Second)
	for env.Ingestor.InFlightBytes() < maxBody {
		if time.Now().After(deadline) {
			t.Fatal("the held request never reached the handler")
		}
		time.Sleep(10 * time.Millisecond)
	}
	// A gzip body whose decompressed size fits its own limit, but not
	// beside the held request.
	n := 1
	for len(events(100, n+1)) <= maxDecompressed {
		n++
	}
	var zbuf bytes.Buffer
	zw := gzip.NewWriter(&zbuf)
	io.WriteString(zw, events(100, n))
	zw.Close()
	zbody := zbuf.Bytes()
	code, retry, body := postRaw(t, env, bytes.NewReader(zbody), true)
	if code != http.StatusServiceUnavailable || retry == "" || !strings.Contains(body, "ingest.max_in_flight_bytes") {
		t.Fatalf("request past the in-flight limit: %d (Retry-After %q) %s, want 503 naming ingest.max_in_flight_bytes with Retry-After", code, retry, body)
	}
	held := events(0, 2)
	fmt.Fprintf(conn, "%x\r\n%s\r\n0\r\n\r\n", len(held), held)
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := io.ReadAll(resp.Body); resp.StatusCode != 200 {
		t.Fatalf("held request: %d %s", resp.StatusCode, b)
	}
	if code, _, body := postRaw(t, env, bytes.NewReader(zbody), true); code != 200 {
		t.Fatalf("retry after the held request finished: %d %s", code, body)
	}
	if got := env.Ingestor.InFlightBytes(); got != 0 {
		t.Fatalf("%d bytes still in flight after every request finished", got)
	}
	env.WaitStored(t)
	if got := env.Count(t, countEvents); got != uint64(2+n) {
		t.Fatalf("stored %d events, want %d", got, 2+n)
	}
}
