package spool

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// crashDirEnv tells the test binary, re-executed by TestCrashRecovery, to run
// TestCrashChild against that directory.
const crashDirEnv = "PRIVAUDIT_SPOOL_CRASH_DIR"

// crashOptions are the options of both the child and the verifying parent:
// small segments, so that rotation and deletion happen during the run.
func crashOptions(dir string) Options {
	return Options{Dir: dir, SegmentBytes: 256 << 10, MaxBytes: 64 << 20}
}

// crashPayload is the payload of append i of worker w.
func crashPayload(w, i int) []byte {
	rng := rand.New(rand.NewPCG(uint64(w), uint64(i)))
	p := make([]byte, 16+rng.IntN(32<<10))
	binary.LittleEndian.PutUint64(p, uint64(w))
	binary.LittleEndian.PutUint64(p[8:], uint64(i))
	for j := 16; j < len(p); j++ {
		p[j] = byte(rng.Uint32())
	}
	return p
}

// TestCrashChild is the child side of TestCrashRecovery: it appends until it
// is killed, printing "A seq worker i" after each successful Append and
// "K seq" after each successful Ack.
func TestCrashChild(t *testing.T) {
	dir := os.Getenv(crashDirEnv)
	if dir == "" {
		t.Skip("only run by TestCrashRecovery")
	}
	s, err := Open(context.Background(), crashOptions(dir))
	if err != nil {
		fmt.Printf("E %v\n", err)
		os.Exit(2)
	}
	var outMu sync.Mutex
	say := func(format string, args ...any) {
		outMu.Lock() // one write per line: each line is all or nothing on the pipe
		os.Stdout.WriteString(fmt.Sprintf(format, args...))
		outMu.Unlock()
	}
	base := int(s.Stats().LastSeq) // workers are numbered per run
	for w := range 6 {
		go func() {
			for i := 0; ; i++ {
				seq, err := s.Append(context.Background(), crashPayload(base+w, i), 1)
				if errors.Is(err, ErrFull) {
					time.Sleep(time.Millisecond)
					continue
				} else if err != nil {
					say("E %v\n", err)
					os.Exit(2)
				}
				say("A %d %d %d\n", seq, base+w, i)
			}
		}()
	}
	for {
		es, err := s.NextWait(context.Background(), 0, 200, 5*time.Millisecond)
		if err != nil {
			say("E %v\n", err)
			os.Exit(2)
		}
		if rand.IntN(3) > 0 { // leave some unacknowledged
			last := es[len(es)-1].Seq
			if err := s.Ack(last); err != nil {
				say("E %v\n", err)
				os.Exit(2)
			}
			say("K %d\n", last)
		}
	}
}

// TestCrashRecovery SIGKILLs a child process that appends and acknowledges
// continuously, several times over one spool directory, and checks after
// each crash that every append the child saw succeed and that it had not
// acknowledged is replayed intact.
func TestCrashRecovery(t *testing.T) {
	if testing.Short() {
		t.Skip("re-executes the test binary")
	}
	dir := t.TempDir()
	appended := map[uint64][2]int{} // seq → (worker, i), of every run
	for run := range 3 {
		ackedByChild := crashRun(t, dir, appended)
		s, err := Open(context.Background(), func() Options {
			o := crashOptions(dir)
			o.Logger = testLogger(t)
			return o
		}())
		if err != nil {
			t.Fatalf("run %d: reopen: %v", run, err)
		}
		st := s.Stats()
		if st.AckedSeq < ackedByChild {
			t.Fatalf("run %d: acked seq %d after reopen, child acked %d", run, st.AckedSeq, ackedByChild)
		}
		got := map[uint64][]byte{}
		for _, e := range readAll(t, s) {
			got[e.Seq] = e.Payload // CRCs were verified by Next
		}
		checked := 0
		for seq, wi := range appended {
			if seq <= st.AckedSeq {
				continue
			}
			if p, ok := got[seq]; !ok || !bytes.Equal(p, crashPayload(wi[0], wi[1])) {
				t.Fatalf("run %d: acknowledged append seq %d (worker %d, #%d) lost or altered (present %v)",
					run, seq, wi[0], wi[1], ok)
			}
			checked++
		}
		if st.AckedSeq > st.LastSeq || int64(len(got)) != st.PendingEntries {
			t.Fatalf("run %d: stats %+v, read %d", run, st, len(got))
		}
		t.Logf("run %d: %d appends acknowledged so far, %d pending checked, acked seq %d, torn %d bytes",
			run, len(appended), checked, st.AckedSeq, st.TornBytes)
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// crashRun runs the child for ~300ms after its first append, SIGKILLs it,
// records its acknowledged appends and returns the highest seq it acked.
func crashRun(t *testing.T, dir string, appended map[uint64][2]int) uint64 {
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashDirEnv+"="+dir)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 1024)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	var kill <-chan time.Time
	var acked uint64
	for {
		var line string
		select {
		case l, ok := <-lines:
			if !ok {
				cmd.Wait()
				return acked
			}
			line = l
		case <-kill:
			cmd.Process.Kill() // SIGKILL; keep reading what it printed
			kill = make(chan time.Time)
			continue
		}
		if kill == nil {
			kill = time.After(300 * time.Millisecond)
		}
		f := strings.Fields(line)
		switch {
		case len(f) == 4 && f[0] == "A":
			seq, _ := strconv.ParseUint(f[1], 10, 64)
			w, _ := strconv.Atoi(f[2])
			i, _ := strconv.Atoi(f[3])
			if _, dup := appended[seq]; dup {
				t.Fatalf("seq %d acknowledged to two appends", seq)
			}
			appended[seq] = [2]int{w, i}
		case len(f) == 2 && f[0] == "K":
			seq, _ := strconv.ParseUint(f[1], 10, 64)
			acked = max(acked, seq)
		default:
			cmd.Process.Kill()
			t.Fatalf("child: %s", line)
		}
	}
}
