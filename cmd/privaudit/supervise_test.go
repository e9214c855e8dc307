package main

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// officerClient talks to a running `privaudit serve` as one token.
type officerClient struct {
	t     *testing.T
	url   string
	token string
}

func (c officerClient) do(method, path, body string) (int, string) {
	c.t.Helper()
	code, resp, err := c.try(method, path, body)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	return code, resp
}

// try is do for other goroutines than the test's: it returns the error.
func (c officerClient) try(method, path, body string) (int, string, error) {
	req, _ := http.NewRequest(method, c.url+path, strings.NewReader(body))
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

// query runs one ad-hoc statement through POST /v1/query.
func (c officerClient) query(sql string) (int, string) {
	c.t.Helper()
	b, _ := json.Marshal(map[string]string{"sql": sql, "format": "csv"})
	return c.do("POST", "/v1/query", string(b))
}

// waitFor polls cond every 100ms until it holds or 90s have passed.
func waitFor(t *testing.T, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for {
		ok, last := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 90s; last: %s", what, last)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func managedPid(t *testing.T, dataDir string) int {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dataDir, "clickhouse", "server.pid"))
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	return pid
}

// TestDeepQueryRefusedAndClickHouseSupervised sends a running `privaudit
// serve` the 2 KB nested query that crashes ClickHouse 18.16: it must be
// refused naming the limit, with ClickHouse still up. Then it crashes the
// managed ClickHouse itself: /readyz must say storage is down, the
// supervisor must restart it (counted on /metrics), and officers' ad-hoc
// SQL must work again through the same reader pool.
func TestDeepQueryRefusedAndClickHouseSupervised(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	bin := buildBinary(t)
	dataDir := t.TempDir()
	srv := startServe(t, bin, dataDir)
	defer func() { srv.cmd.Process.Signal(syscall.SIGTERM); srv.cmd.Wait() }()
	c := officerClient{t: t, url: srv.url, token: createToken(t, bin, dataDir, "officer")}
	ready := func() (bool, string) {
		code, body := officerClient{t: t, url: srv.url}.do("GET", "/readyz", "")
		return code == 200 && strings.Contains(body, `"ready":true`), strconv.Itoa(code) + " " + body
	}
	waitFor(t, "/readyz 200 after start", ready)
	if code, body := c.query("SELECT 1 AS one"); code != 200 || body != "one\n1\n" {
		t.Fatalf("ad-hoc SELECT 1: %d %q", code, body)
	}
	pid := managedPid(t, dataDir)
	c2 := officerClient{t: t, url: srv.url, token: createToken(t, bin, dataDir, "officer")}
	fillReaderPool(t, c, c2)

	deep := "SELECT " + strings.Repeat("(", 1000) + "1" + strings.Repeat(")", 1000)
	code, body := c.query(deep)
	if code != 400 || !strings.Contains(body, "nests 1000 levels deep") || !strings.Contains(body, "the limit is 64") {
		t.Fatalf("deeply nested query: %d %s; want 400 naming the depth limit", code, body)
	}
	if syscall.Kill(pid, 0) != nil {
		t.Fatal("the managed ClickHouse died on the refused query")
	}
	if code, body := c.query("SELECT 2 AS two"); code != 200 || body != "two\n2\n" {
		t.Fatalf("ad-hoc query after the refusal: %d %q", code, body)
	}

	// Freeze ClickHouse first, so that /readyz is seen not ready however
	// fast the supervisor is, then kill it as a crash would.
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "/readyz 503 naming clickhouse while it is down", func() (bool, string) {
		code, body := officerClient{t: t, url: srv.url}.do("GET", "/readyz", "")
		return code == 503 && strings.Contains(body, `"ready":false`) && strings.Contains(body, `"clickhouse: `), strconv.Itoa(code) + " " + body
	})
	killed := time.Now()
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "/readyz 200 after the restart", ready)
	t.Logf("ready again %s after the SIGKILL", time.Since(killed).Round(10*time.Millisecond))
	if managedPid(t, dataDir) == pid {
		t.Fatal("ready again, but on the killed ClickHouse's pid")
	}
	// The supervisor counts the restart once its relaunch returns, which
	// may be just after the new server already answers /readyz.
	waitFor(t, "privaudit_clickhouse_restarts_total 1 on /metrics", func() (bool, string) {
		code, metrics := c.do("GET", "/metrics", "")
		return code == 200 && strings.Contains(metrics, "privaudit_clickhouse_restarts_total 1\n"), strconv.Itoa(code)
	})
	for i := range 8 { // more than the reader pool holds: no dead connection is handed out
		if code, body := c.query("SELECT 3 AS three"); code != 200 || body != "three\n3\n" {
			t.Fatalf("ad-hoc query %d once ready after the restart: %d %q", i+1, code, body)
		}
	}
}

// fillReaderPool runs four ad-hoc queries at once, spread over the clients
// cs (each token may run two at a time), so the reader pool holds four open
// connections.
func fillReaderPool(t *testing.T, cs ...officerClient) {
	t.Helper()
	errs := make(chan string, 4)
	req, _ := json.Marshal(map[string]string{"sql": "SELECT sleep(0.5) AS s", "format": "csv"})
	for i := range 4 {
		c := cs[i%len(cs)]
		go func() {
			code, body, err := c.try("POST", "/v1/query", string(req))
			switch {
			case err != nil:
				errs <- err.Error()
			case code != 200:
				errs <- strconv.Itoa(code) + " " + body
			default:
				errs <- ""
			}
		}()
	}
	for range 4 {
		if e := <-errs; e != "" {
			t.Fatalf("concurrent ad-hoc query: %s", e)
		}
	}
}
