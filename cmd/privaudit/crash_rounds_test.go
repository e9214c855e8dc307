package main

import (
	"errors"
	"math/rand/v2"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// boundedLoad is four clients sending a fixed set of requests (record
// numbers [first, first+n) of each kind, per to a request) until the set
// is sent or the server dies.
type boundedLoad struct {
	*mixedLoad
	finished chan struct{}
}

// loadPart is n records of one kind.
type loadPart struct {
	k loadKind
	n int
}

func startBoundedLoad(url, token string, first int, parts ...loadPart) *boundedLoad {
	l := &boundedLoad{mixedLoad: &mixedLoad{acked: map[string]map[int]bool{}, done: make(chan struct{})}, finished: make(chan struct{})}
	type req struct {
		k     loadKind
		first int
	}
	reqs := make(chan req, 1024)
	for _, p := range parts {
		l.acked[p.k.kind] = map[int]bool{}
	}
	go func() {
		for _, p := range parts {
			for i := first; i < first+p.n; i += p.k.per {
				reqs <- req{p.k, i}
			}
		}
		close(reqs)
	}()
	var workers sync.WaitGroup
	for range 4 {
		workers.Add(1)
		go func() {
			defer workers.Done()
			for r := range reqs {
				if !l.send(url, token, r.k, r.first) {
					for range reqs { // the server died: drain
					}
					return
				}
			}
		}()
	}
	go func() { workers.Wait(); close(l.finished) }()
	return l
}

// TestKill9RoundsProofLogVerifies kills `privaudit serve` with SIGKILL at a
// random point of each of 10 rounds of a 200,000-event load (with consents),
// restarts it, then resends every record of every round (checkpoints are
// signed every 200ms throughout): every
// acknowledged record is stored once (raw rows), the proof log's tree size
// equals the stored records, and `privaudit verify` is clean.
func TestKill9RoundsProofLogVerifies(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end crash test")
	}
	const rounds, events, consents = 10, 20_000, 1_000
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 18))
	bin := buildBinary(t)
	dataDir := t.TempDir()
	// Checkpoints signed between kills must stay consistent with the log.
	t.Setenv("PRIVAUDIT_PROOF_CHECKPOINT_INTERVAL", "200ms")
	ev, co := loadKind{"events", crashEvent, 200}, loadKind{"consents", crashConsent, 100}
	acked := map[string]map[int]bool{"events": {}, "consents": {}}
	var token string
	for r := range rounds {
		srv := startServe(t, bin, dataDir)
		if token == "" {
			token = createToken(t, bin, dataDir, "ingest")
		}
		load := startBoundedLoad(srv.url, token, r*events, loadPart{ev, events}, loadPart{co, consents})
		killAt := rng.IntN(events + consents)
		deadline := time.Now().Add(2 * time.Minute)
	wait:
		for load.count("events")+load.count("consents") < killAt {
			select {
			case <-load.finished:
				break wait
			case <-time.After(10 * time.Millisecond):
			}
			if time.Now().After(deadline) {
				t.Fatalf("round %d: only %d records acknowledged after 2 minutes", r, load.count("events")+load.count("consents"))
			}
		}
		if err := srv.cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		srv.cmd.Wait()
		<-load.finished
		for kind, ids := range load.stop() {
			for i := range ids {
				acked[kind][i] = true
			}
		}
		t.Logf("round %d: killed after %d acknowledged (aimed at %d)", r, load.count("events")+load.count("consents"), killAt)
	}

	srv := startServe(t, bin, dataDir)
	defer func() {
		srv.cmd.Process.Signal(syscall.SIGTERM)
		srv.cmd.Wait()
	}()
	resend := startBoundedLoad(srv.url, token, 0, loadPart{ev, rounds * events})
	<-resend.finished
	resendConsents := make([]*boundedLoad, rounds)
	for r := range rounds {
		resendConsents[r] = startBoundedLoad(srv.url, token, r*events, loadPart{co, consents})
		<-resendConsents[r].finished
	}
	if n := resend.count("events"); n != rounds*events {
		t.Fatalf("resend: %d of %d events acknowledged", n, rounds*events)
	}
	conn := attachClickHouse(t, dataDir)
	for _, k := range []struct {
		kind string
		tbl  writtenTable
		want int
	}{{"events", eventsTable, rounds * events}, {"consents", consentsTable, rounds * consents}} {
		ids := waitForStoredIn(t, conn, k.tbl, k.want)
		for i := range acked[k.kind] {
			if !ids[i] {
				t.Fatalf("acknowledged %s record %d lost", k.kind, i)
			}
		}
		checkRawRows(t, conn, k.tbl, uint64(k.want))
	}
	waitForLogCovers(t, conn)
	out, err := exec.Command(bin, "verify", "--data-dir", dataDir, "--log-level", "warn").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "clean:") || !strings.Contains(string(out), "210000 leaves") || !strings.Contains(string(out), "latest checkpoint: ") {
		var exit *exec.ExitError
		errors.As(err, &exit)
		t.Fatalf("privaudit verify after 10 kill -9 rounds: %v\n%s", err, out)
	}
}
