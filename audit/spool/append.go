package spool

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"sync/atomic"
	"time"
)

// request is one Append waiting for the committer.
type request struct {
	payload []byte
	count   uint32
	size    int64 // on-disk size, header included

	state atomic.Int32 // stateQueued → stateTaken (committer) or stateCancelled (Append)
	round *round       // set by the committer before it takes the request
	done  chan struct{}
	seq   uint64 // valid once done is closed
	err   error  // valid once done is closed
}

const (
	stateQueued int32 = iota
	stateTaken
	stateCancelled
)

// round is one commit round: taken and written by the committer, made
// durable and published by the syncer.
type round struct {
	reqs    []*request
	encoded chan struct{} // closed once every payload is copied for writing
	synced  chan struct{} // closed once the round is finished, either way

	f       *os.File // set by write
	seg     *segment
	bytes   int64
	records int64
	lastSeq uint64
}

// Append durably appends payload, which holds count records, and returns its
// seq. It returns nil only once the entry is written and fsync'ed; concurrent
// Appends share one write and one fsync. Append may be called concurrently
// and does not retain payload after it returns.
//
// It returns ErrFull when the unacknowledged bytes would exceed MaxBytes,
// ErrTooLarge when the entry can never fit, and ErrClosed after Close. If ctx
// is done first Append returns ctx.Err(); the entry is then either dropped
// or, when the committer had already taken it, may still be committed and
// delivered later — harmless given downstream deduplication by record id.
func (s *Spool) Append(ctx context.Context, payload []byte, count int) (uint64, error) {
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("spool append: %w", err)
	}
	size := recHeaderSize + int64(len(payload))
	if len(payload) > MaxPayload || size > s.opts.MaxBytes {
		return 0, fmt.Errorf("spool append: %d bytes, max %d: %w",
			len(payload), min(s.opts.MaxBytes-recHeaderSize, MaxPayload), ErrTooLarge)
	}
	if count < 0 || count > math.MaxUint32 {
		return 0, fmt.Errorf("spool append: record count %d out of range", count)
	}
	r := &request{payload: payload, count: uint32(count), size: size, done: make(chan struct{})}
	if err := s.enqueue(r); err != nil {
		return 0, err
	}
	select {
	case <-r.done:
		return r.seq, r.err
	case <-ctx.Done():
		return s.abandon(r, ctx.Err())
	}
}

func (s *Spool) enqueue(r *request) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.closed:
		return ErrClosed
	case s.failed != nil:
		return fmt.Errorf("spool append: %w", s.failed)
	case s.stats.PendingBytes+s.stats.QueuedBytes+r.size > s.opts.MaxBytes:
		s.stats.FullTotal++
		return ErrFull
	}
	s.queue = append(s.queue, r)
	s.stats.QueuedBytes += r.size
	select {
	case s.kick <- struct{}{}:
	default:
	}
	return nil
}

// abandon withdraws r after its context ended. If the committer already took
// r, it waits until the payload has been copied (so the caller may reuse it)
// but not for the fsync.
func (s *Spool) abandon(r *request, err error) (uint64, error) {
	err = fmt.Errorf("spool append: %w", err)
	if r.state.CompareAndSwap(stateQueued, stateCancelled) {
		s.mu.Lock()
		s.stats.QueuedBytes -= r.size
		s.mu.Unlock()
		return 0, err
	}
	select {
	case <-r.done: // committed (or failed) meanwhile: report that
		return r.seq, r.err
	default:
	}
	select {
	case <-r.done:
		return r.seq, r.err
	case <-r.round.encoded:
		return 0, err
	}
}

// commitLoop is the committer goroutine: it turns queued appends into
// commit rounds, written one after the other and handed to syncLoop, until
// Close; then it commits what is left, waits for the syncer and exits.
//
// Writing round N+1 while round N is being fsync'ed keeps the disk busy, and
// the appenders released by one fsync join the next rounds meanwhile.
func (s *Spool) commitLoop() {
	defer close(s.loopDone)
	syncDone := make(chan struct{})
	go s.syncLoop(syncDone)
	defer func() {
		close(s.toSync)
		<-syncDone
	}()
	for {
		select {
		case <-s.kick:
		case <-s.stop:
			for s.commitRound() {
			}
			return
		}
		for s.commitRound() {
		}
	}
}

// commitRound writes one round of queued appends, hands it to the syncer
// and reports whether more appends are queued. It rotates the segment once
// full, after the syncer has made it durable.
func (s *Spool) commitRound() bool {
	rd, more := s.takeRound()
	if len(rd.reqs) == 0 {
		return more
	}
	if err := s.writeRound(rd); err != nil {
		s.finishRound(rd, err)
		return more
	}
	s.toSync <- rd
	if s.w.off >= s.opts.SegmentBytes {
		<-rd.synced // only the newest segment may end in a torn write
		if s.failedErr() == nil {
			if err := s.rotate(); err != nil {
				s.log.Error("spool segment rotation failed; continuing in the current segment", "err", err)
			}
		}
	}
	return more
}

// takeRound takes queued appends for one round: as many as fit in the
// active segment and maxRoundBytes, and at least one.
func (s *Spool) takeRound() (*round, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	limit := min(max(s.opts.SegmentBytes-s.w.off, 0), maxRoundBytes)
	rd := &round{encoded: make(chan struct{}), synced: make(chan struct{})}
	i := 0
	for ; i < len(s.queue); i++ {
		r := s.queue[i]
		if len(rd.reqs) > 0 && rd.bytes+r.size > limit {
			break
		}
		r.round = rd // published to abandon by the CAS below
		if r.state.CompareAndSwap(stateQueued, stateTaken) {
			rd.reqs = append(rd.reqs, r)
			rd.bytes += r.size
			rd.records += int64(r.count)
		}
	}
	n := copy(s.queue, s.queue[i:])
	clear(s.queue[n:])
	s.queue = s.queue[:n]
	return rd, n > 0
}

// writeRound assigns seqs, encodes the round and writes it at the end of the
// active segment with one write.
func (s *Spool) writeRound(rd *round) error {
	if err := s.failedErr(); err != nil {
		close(rd.encoded)
		return fmt.Errorf("spool append: %w", err)
	}
	buf := s.w.buf[:0]
	seq := s.w.nextSeq
	for _, r := range rd.reqs {
		r.seq = seq
		buf = appendRecord(buf, seq, r.count, r.payload)
		seq++
	}
	close(rd.encoded)
	if cap(buf) <= 2*maxRoundBytes {
		s.w.buf = buf
	} else {
		s.w.buf = nil // do not keep a buffer grown by one huge entry
	}
	off := s.w.off
	if _, err := s.w.f.WriteAt(buf, off); err != nil {
		// Cut a partial write off so the file ends at an entry boundary;
		// the seqs are not consumed.
		if terr := s.w.f.Truncate(off); terr != nil {
			s.fail(fmt.Errorf("write %s: %w; truncate: %w", s.w.seg.path, err, terr))
		}
		return fmt.Errorf("spool append: write %s: %w", s.w.seg.path, err)
	}
	rd.f, rd.seg, rd.lastSeq = s.w.f, s.w.seg, seq-1
	s.w.off += rd.bytes
	s.w.nextSeq = seq
	return nil
}

// syncLoop is the syncer goroutine: it takes every written round, fsyncs
// their segment once and publishes them. Rounds in one group always share
// one segment: the committer rotates only after the syncer caught up.
func (s *Spool) syncLoop(done chan<- struct{}) {
	defer close(done)
	var group []*round
	for rd := range s.toSync {
		group = append(group[:0], rd)
	drain:
		for {
			select {
			case rd, ok := <-s.toSync:
				if !ok {
					break drain
				}
				group = append(group, rd)
			default:
				break drain
			}
		}
		err := s.syncRounds(group[len(group)-1].f)
		if err == nil {
			s.mu.Lock()
			s.stats.CommitsTotal++
			s.mu.Unlock()
		}
		for _, rd := range group {
			s.finishRound(rd, err)
		}
		clear(group)
	}
}

func (s *Spool) syncRounds(f *os.File) error {
	if err := s.failedErr(); err != nil {
		return fmt.Errorf("spool append: %w", err)
	}
	if s.opts.NoSync {
		return nil
	}
	if err := f.Sync(); err != nil {
		// After a failed fsync the page cache state is unknown: stop
		// appending; reopening re-validates the file.
		err = fmt.Errorf("fsync %s: %w", f.Name(), err)
		s.fail(err)
		return fmt.Errorf("spool append: %w", err)
	}
	return nil
}

func (s *Spool) fail(err error) {
	s.log.Error("spool failed; appends are refused until it is reopened", "err", err)
	s.mu.Lock()
	if s.failed == nil {
		s.failed = err
	}
	s.mu.Unlock()
}

// finishRound publishes a durable round to readers and Stats (if err is
// nil), then answers its appenders.
func (s *Spool) finishRound(rd *round, err error) {
	s.mu.Lock()
	st := &s.stats
	st.QueuedBytes -= rd.bytes
	if err == nil {
		rd.seg.size += rd.bytes
		rd.seg.last = rd.lastSeq
		now := time.Now()
		if st.UnreadEntries == 0 {
			s.availSince = now
		}
		s.noteArrival(now)
		n := int64(len(rd.reqs))
		st.PendingEntries += n
		st.PendingRecords += rd.records
		st.PendingBytes += rd.bytes
		st.UnreadEntries += n
		st.UnreadRecords += rd.records
		st.AppendedTotal += uint64(n)
		st.AppendedRecordsTotal += uint64(rd.records)
		st.AppendedBytesTotal += uint64(rd.bytes)
		st.WritesTotal++
		s.notifyLocked()
	}
	s.mu.Unlock()
	for _, r := range rd.reqs {
		r.err = err
		r.payload = nil
		close(r.done)
	}
	close(rd.synced)
}

// rotate starts a new active segment. The old one is already fsync'ed; the
// new one is made durable (header, file, directory) before it is used.
func (s *Spool) rotate() error {
	f, seg, err := createSegment(s.opts.Dir, s.w.nextSeq, !s.opts.NoSync)
	if err != nil {
		return err
	}
	if !s.opts.NoSync {
		if err := syncDir(s.opts.Dir); err != nil {
			f.Close()
			if rerr := os.Remove(seg.path); rerr != nil && !errors.Is(rerr, os.ErrNotExist) {
				// A stray segment would overlap the current one on reopen.
				s.fail(fmt.Errorf("rotate: %w; remove %s: %w", err, seg.path, rerr))
			}
			return fmt.Errorf("rotate: %w", err)
		}
	}
	s.mu.Lock()
	s.segments = append(s.segments, seg)
	s.mu.Unlock()
	old := s.w.f
	s.w.f, s.w.seg, s.w.off = f, seg, seg.size
	if err := old.Close(); err != nil {
		return fmt.Errorf("rotate: close %s: %w", old.Name(), err)
	}
	return nil
}
