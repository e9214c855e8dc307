package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
)

// buildBinary compiles privaudit once per test run.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "privaudit")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	return bin
}

type serveProc struct {
	cmd *exec.Cmd
	url string
}

// startServe runs `privaudit serve` on dataDir and waits for its URL.
func startServe(t *testing.T, bin, dataDir string) *serveProc {
	t.Helper()
	cmd := exec.Command(bin, "serve", "--data-dir", dataDir, "--listen", "127.0.0.1:0")
	cmd.Env = append(os.Environ(), "PRIVAUDIT_LINGER=50ms")
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	urlRE := regexp.MustCompile(`msg="privaudit serving" url=(\S+)`)
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if m := urlRE.FindStringSubmatch(sc.Text()); m != nil {
				found <- m[1]
			}
		}
	}()
	select {
	case u := <-found:
		return &serveProc{cmd: cmd, url: u}
	case <-time.After(60 * time.Second):
		cmd.Process.Kill()
		t.Fatal("serve did not start")
	}
	return nil
}

func createToken(t *testing.T, bin, dataDir, role string) string {
	t.Helper()
	out, err := exec.Command(bin, "token", "create", "--role", role, "--name", "crash-"+role, "--data-dir", dataDir).Output()
	if err != nil {
		t.Fatalf("token create: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	return lines[len(lines)-1]
}

func crashEvent(i int) string {
	return fmt.Sprintf(`{"event_id":"00000000-0000-4000-8000-%012d","occurred_at":"2026-10-01T12:00:00Z","actor_id":"svc","actor_type":"service","subject_id":"c%d","action":"read","data_categories":["account_balance"],"recipient_id":"internal","recipient_type":"internal","purpose":"balance_inquiry","legal_basis":"contract"}`, i, i)
}

func crashConsent(i int) string {
	return fmt.Sprintf(`{"consent_event_id":"00000000-0000-4000-9000-%012d","consent_id":"cons-%d","subject_id":"c%d","recipient_id":"messenger-platform","status":"granted","purposes":["fraud_alert"],"data_categories":["account_balance"],"effective_at":"2026-01-01T00:00:00Z","method":"opt_in_messenger","notice_version":"v3","jurisdiction":"US-NY"}`, i, i, i)
}

// TestKill9LosesNothingAcknowledged kills `privaudit serve` with SIGKILL while
// clients are sending events and consents, restarts it, and checks in
// ClickHouse that every acknowledged record is stored, and that every table
// the writers fill holds exactly one raw row per stored record (counted
// without FINAL, so a replayed copy awaiting a merge is seen).
func TestKill9LosesNothingAcknowledged(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end crash test")
	}
	bin := buildBinary(t)
	dataDir := t.TempDir()
	srv := startServe(t, bin, dataDir)
	token := createToken(t, bin, dataDir, "ingest")

	load := startMixedLoad(srv.url, token, loadKind{"events", crashEvent, 200}, loadKind{"consents", crashConsent, 200})
	time.Sleep(1500 * time.Millisecond)
	if err := srv.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	srv.cmd.Wait()
	acked := load.stop()
	const per = 200
	if len(acked["events"]) == 0 || len(acked["consents"]) == 0 {
		t.Fatalf("%d event and %d consent requests acknowledged before the kill, want some of each",
			len(acked["events"])/per, len(acked["consents"])/per)
	}
	t.Logf("%d events and %d consents acknowledged before kill -9", len(acked["events"]), len(acked["consents"]))

	srv2 := startServe(t, bin, dataDir)
	defer func() {
		srv2.cmd.Process.Signal(syscall.SIGTERM)
		srv2.cmd.Wait()
	}()
	conn := attachClickHouse(t, dataDir)
	for _, k := range []struct {
		kind          string
		records, keys writtenTable
	}{{"events", eventsTable, eventKeysTable}, {"consents", consentsTable, consentKeysTable}} {
		ids := waitForStoredIn(t, conn, k.records, len(acked[k.kind]))
		for i := range acked[k.kind] {
			if !ids[i] {
				t.Fatalf("acknowledged %s record %d lost after kill -9", k.kind, i)
			}
		}
		// Records whose request died unanswered may be stored too: the
		// count to match is the stored ids, which hold every acknowledged one.
		checkRawRows(t, conn, k.records, uint64(len(ids)))
		checkRawRows(t, conn, k.keys, uint64(len(ids)))
	}
	waitForLogCovers(t, conn)
}

// loadKind is one kind of record a mixed load sends: record(i) is record
// number i, sent per to a request.
type loadKind struct {
	kind   string
	record func(i int) string
	per    int
}

// mixedLoad is four clients sending requests of two kinds in turn to a
// serve until it dies or stop is called.
type mixedLoad struct {
	mu    sync.Mutex
	acked map[string]map[int]bool // by kind, the record numbers acknowledged
	wg    sync.WaitGroup
	done  chan struct{}
}

func startMixedLoad(url, token string, kinds ...loadKind) *mixedLoad {
	l := &mixedLoad{acked: map[string]map[int]bool{}, done: make(chan struct{})}
	for _, k := range kinds {
		l.acked[k.kind] = map[int]bool{}
	}
	for c := range 4 {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			for r := 0; ; r++ {
				select {
				case <-l.done:
					return
				default:
				}
				k := kinds[r%len(kinds)]
				first := (c*100000 + r) * k.per
				if !l.send(url, token, k, first) {
					return // the server died
				}
			}
		}()
	}
	return l
}

// send posts records [first, first+k.per) and reports whether the server answered.
func (l *mixedLoad) send(url, token string, k loadKind, first int) bool {
	var b strings.Builder
	for i := first; i < first+k.per; i++ {
		b.WriteString(k.record(i) + "\n")
	}
	req, _ := http.NewRequest("POST", url+"/v1/"+k.kind, strings.NewReader(b.String()))
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode == http.StatusOK {
		l.mu.Lock()
		for i := first; i < first+k.per; i++ {
			l.acked[k.kind][i] = true
		}
		l.mu.Unlock()
	}
	return true
}

// count returns how many records of kind were acknowledged so far.
func (l *mixedLoad) count(kind string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.acked[kind])
}

// stop ends the load and returns the acknowledged record numbers by kind.
func (l *mixedLoad) stop() map[string]map[int]bool {
	close(l.done)
	l.wg.Wait()
	return l.acked
}

// attachClickHouse connects to the managed ClickHouse of a running serve.
func attachClickHouse(t *testing.T, dataDir string) clickhouse.Conn {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dataDir, "clickhouse", "server.json"))
	if err != nil {
		t.Fatal(err)
	}
	var st struct{ Addr, AdminUser, AdminPassword string }
	if err := json.Unmarshal(b, &st); err != nil {
		t.Fatal(err)
	}
	conn, err := clickhouse.Open(&clickhouse.Options{Addr: []string{st.Addr}, Auth: clickhouse.Auth{Username: st.AdminUser, Password: st.AdminPassword}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// waitForStored polls until at least want events are stored and their count
// is stable, then returns the stored ids (by number).
func waitForStored(t *testing.T, conn clickhouse.Conn, want int) map[int]bool {
	t.Helper()
	return waitForStoredIn(t, conn, eventsTable, want)
}

// waitForStoredIn polls until at least want distinct ids are stored in tbl
// and their count is stable, then returns the stored ids (by number).
func waitForStoredIn(t *testing.T, conn clickhouse.Conn, tbl writtenTable, want int) map[int]bool {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	var last uint64
	for stable := 0; stable < 3; {
		var n uint64
		if err := conn.QueryRow(context.Background(), "SELECT uniqExact("+tbl.id+") FROM "+tbl.name).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n >= uint64(want) && n == last {
			stable++
		} else {
			stable = 0
		}
		last = n
		if time.Now().After(deadline) {
			t.Fatalf("%s: only %d of %d acknowledged records stored after 60s", tbl.name, n, want)
		}
		time.Sleep(300 * time.Millisecond)
	}
	rows, err := conn.Query(context.Background(), "SELECT DISTINCT "+tbl.id+" FROM "+tbl.name)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	ids := map[int]bool{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		var n int
		fmt.Sscanf(id[24:], "%d", &n)
		ids[n] = true
	}
	return ids
}
