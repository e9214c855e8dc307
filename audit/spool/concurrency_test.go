package spool

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"sync"
	"testing"
	"time"
)

// TestConcurrentAppenders runs appenders against a reader that acknowledges
// as it goes (with rotations, deletions and Rewinds), and checks every
// appended entry is delivered exactly once, in seq order, with its payload.
func TestConcurrentAppenders(t *testing.T) {
	const appenders, perAppender = 16, 150
	s := openT(t, t.TempDir(), Options{SegmentBytes: 64 << 10, MaxBytes: 256 << 10})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	wait := startAppenders(ctx, t, s, appenders, perAppender)

	var read []Entry
	for len(read) < appenders*perAppender {
		es, err := s.NextWait(ctx, 50, 0, time.Millisecond)
		if err != nil {
			t.Fatalf("Next after %d entries: %v", len(read), err)
		}
		read = append(read, es...)
		if len(read)%3 == 0 {
			s.Rewind() // re-delivery must not disturb the count
			es, err := s.Next(ctx, 0, 0)
			if err != nil || len(es) == 0 || es[0].Seq != s.Stats().AckedSeq+1 {
				t.Fatalf("Next after Rewind: %v %v", len(es), err)
			}
			for _, e := range es { // keep what had not been read before
				if e.Seq > read[len(read)-1].Seq {
					read = append(read, e)
				}
			}
		}
		if err := s.Ack(read[len(read)-1].Seq); err != nil {
			t.Fatal(err)
		}
	}
	appended := wait()

	for i, e := range read {
		if e.Seq != uint64(i+1) {
			t.Fatalf("entry %d has seq %d", i, e.Seq)
		}
		if !bytes.Equal(e.Payload, appended[e.Seq]) {
			t.Fatalf("entry seq %d: payload differs from the appended one", e.Seq)
		}
	}
	st := s.Stats()
	if st.PendingEntries != 0 || st.PendingBytes != 0 || st.UnreadEntries != 0 || st.QueuedBytes != 0 ||
		st.AckedTotal != appenders*perAppender {
		t.Fatalf("final stats: %+v", st)
	}
	t.Logf("%d appends in %d writes and %d fsyncs, %d ErrFull",
		st.AppendedTotal, st.WritesTotal, st.CommitsTotal, st.FullTotal)
	expectNothing(t, s)
}

// startAppenders starts n goroutines appending per entries each, retrying
// on ErrFull; wait returns the payload appended under each seq.
func startAppenders(ctx context.Context, t *testing.T, s *Spool, n, per int) (wait func() map[uint64][]byte) {
	var mu sync.Mutex
	appended := map[uint64][]byte{}
	var wg sync.WaitGroup
	for g := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range per {
				p := make([]byte, 100+(g*per+i)%3000)
				binary.LittleEndian.PutUint64(p, uint64(g<<32|i))
				seq, err := s.Append(ctx, p, 1)
				for errors.Is(err, ErrFull) { // back-pressure: wait for the reader
					time.Sleep(time.Millisecond)
					seq, err = s.Append(ctx, p, 1)
				}
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				if _, dup := appended[seq]; dup {
					t.Errorf("seq %d returned twice", seq)
				}
				appended[seq] = p
				mu.Unlock()
			}
		}()
	}
	return func() map[uint64][]byte {
		wg.Wait()
		return appended
	}
}

// TestGroupCommit checks that concurrent appends share fsyncs.
func TestGroupCommit(t *testing.T) {
	s := openT(t, t.TempDir(), Options{})
	const n = 400
	var wg sync.WaitGroup
	for range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range n / 40 {
				if _, err := s.Append(context.Background(), make([]byte, 512), 1); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	st := s.Stats()
	if st.AppendedTotal != n || st.CommitsTotal >= n/2 {
		t.Fatalf("%d appends took %d commit rounds; want far fewer", st.AppendedTotal, st.CommitsTotal)
	}
	t.Logf("%d appends, %d commit rounds", st.AppendedTotal, st.CommitsTotal)
}

// TestAppendCancelWhileQueued cancels appends that wait behind others and
// checks the accounting stays right whichever way each one ends.
func TestAppendCancelWhileQueued(t *testing.T) {
	s := openT(t, t.TempDir(), Options{})
	var wg sync.WaitGroup
	var mu sync.Mutex
	landed := 0
	for range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 200*time.Microsecond)
			defer cancel()
			_, err := s.Append(ctx, make([]byte, 64<<10), 1)
			if err == nil {
				mu.Lock()
				landed++
				mu.Unlock()
			} else if !errors.Is(err, context.DeadlineExceeded) {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if err := s.Close(); err != nil { // commits whatever was taken
		t.Fatal(err)
	}
	st := s.Stats()
	if st.QueuedBytes != 0 || st.PendingEntries < int64(landed) {
		t.Fatalf("stats: %+v; %d appends succeeded", st, landed)
	}
}
