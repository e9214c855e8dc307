package spool

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"time"
)

// cursor is the position of an entry: its seq, segment and offset.
type cursor struct {
	seq uint64
	seg *segment
	off int64
}

// delivered is an entry Next has delivered and Ack has not yet covered.
type delivered struct {
	cursor
	size  int64
	count uint32
}

// fifo is a queue of delivered entries, in seq order.
type fifo struct {
	items []delivered
	head  int
}

func (q *fifo) len() int            { return len(q.items) - q.head }
func (q *fifo) at(i int) *delivered { return &q.items[q.head+i] }
func (q *fifo) push(d delivered)    { q.items = append(q.items, d) }
func (q *fifo) front() *delivered   { return q.at(0) }
func (q *fifo) pop() (d delivered) {
	d = q.items[q.head]
	q.items[q.head] = delivered{}
	q.head++
	if q.head == len(q.items) {
		q.items, q.head = q.items[:0], 0
	} else if q.head >= 1024 && q.head*2 >= len(q.items) {
		n := copy(q.items, q.items[q.head:])
		clear(q.items[n:])
		q.items, q.head = q.items[:n], 0
	}
	return d
}

// Next returns the next unread entries in seq order, blocking until there is
// at least one or ctx is done. It returns at most max entries and, unless the
// first entry alone exceeds it, at most maxRecords records; zero or negative
// means no limit. It advances the read cursor; the entries stay in the spool
// until Ack covers them.
func (s *Spool) Next(ctx context.Context, max, maxRecords int) ([]Entry, error) {
	return s.NextWait(ctx, max, maxRecords, 0)
}

// NextWait is Next for a writer that flushes by size or interval: once an
// unread entry exists it waits until max entries or maxRecords records are
// unread, until linger has passed since the first of them became
// available, or until appends have paused (the burst is over: no entry for
// eight times the recent interval between entries, at least 50ms, at most
// half the linger), whichever comes first. Entries that an earlier call left
// unread (its limits were reached) keep that first availability time: they
// wait for the rest of the same linger, so a steady stream is delivered in
// full batches, each entry within linger of its arrival. Entries
// re-delivered after Rewind or a restart count as available long ago, so a
// backlog is returned without lingering.
func (s *Spool) NextWait(ctx context.Context, max, maxRecords int, linger time.Duration) ([]Entry, error) {
	for {
		if err := s.waitReady(ctx, max, maxRecords, linger); err != nil {
			return nil, err
		}
		out, err := s.readBatch(max, maxRecords)
		if err != nil || len(out) > 0 {
			return out, err
		}
	}
}

// waitReady blocks until NextWait's condition holds, Close or ctx.
func (s *Spool) waitReady(ctx context.Context, max, maxRecords int, linger time.Duration) error {
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			return ErrClosed
		}
		wake, st := s.notify, &s.stats
		var left time.Duration
		if st.UnreadEntries > 0 {
			// Due at the linger, or once appends have paused: the end of a
			// burst is written without waiting it out.
			left = min(linger-time.Since(s.availSince), s.pauseLocked(linger)-time.Since(s.lastAvail))
			if left <= 0 || (max > 0 && st.UnreadEntries >= int64(max)) ||
				(maxRecords > 0 && st.UnreadRecords >= int64(maxRecords)) {
				s.mu.Unlock()
				return nil
			}
		}
		s.mu.Unlock()
		var expired <-chan time.Time
		if left > 0 {
			if timer == nil {
				timer = time.NewTimer(left)
			} else {
				timer.Reset(left)
			}
			expired = timer.C
		}
		select {
		case <-wake:
		case <-expired:
		case <-ctx.Done():
			return fmt.Errorf("spool next: %w", ctx.Err())
		}
	}
}

// Pauses: appends count as paused once none has become available for
// pauseGaps times the recent mean interval between them (at least
// minPause), and at most half the linger. A burst's end is thus noticed
// within a few of its own intervals, while a trickle slower than that keeps
// filling its batch for the whole linger. Only an interval far above the
// recent mean ends a batch early, and never one under minPause, so a fast
// but jittery stream is not cut into many small batches (each INSERT makes
// a part that ClickHouse must merge).
const (
	pauseGaps = 8
	minPause  = 50 * time.Millisecond
	// maxGap is the longest interval counted as within a burst; a longer
	// one starts a new burst with no known rate.
	maxGap = time.Second
)

// noteArrival records that entries became available at now.
func (s *Spool) noteArrival(now time.Time) {
	gap := now.Sub(s.lastAvail)
	switch {
	case s.lastAvail.IsZero() || gap > maxGap:
		s.meanGap = 0
	case s.meanGap == 0:
		s.meanGap = gap
	default:
		s.meanGap += (gap - s.meanGap) / 8
	}
	s.lastAvail = now
}

// pauseLocked is how long appends must stop before the unread entries are
// due without their full linger.
func (s *Spool) pauseLocked(linger time.Duration) time.Duration {
	if s.meanGap == 0 {
		return linger / 2
	}
	return min(linger/2, max(minPause, pauseGaps*s.meanGap))
}

// readBatch reads entries from the cursor on, within the limits.
func (s *Spool) readBatch(max, maxRecords int) ([]Entry, error) {
	s.readMu.Lock()
	defer s.readMu.Unlock()
	var out []Entry
	records := 0
	accept := func(count int) bool {
		return len(out) == 0 || maxRecords <= 0 || records+count <= maxRecords
	}
	for {
		if max > 0 && len(out) >= max {
			return out, nil
		}
		pos, limit, ok, err := s.nextPos()
		if err == nil && ok {
			var e Entry
			var size int64
			if e, size, ok, err = s.rd.read(pos, limit, accept); err == nil && !ok {
				return out, nil
			}
			if err == nil {
				s.advance(pos, size, e.Count)
				out = append(out, e)
				records += e.Count
				continue
			}
		}
		if err != nil && len(out) == 0 {
			return nil, fmt.Errorf("spool next: %w", err)
		}
		return out, nil // an error reading a later entry recurs on the next call
	}
}

// nextPos returns the cursor's entry and the committed size of its segment,
// moving the cursor to the next segment when it is at the end of one; ok is
// false when there is no unread entry.
func (s *Spool) nextPos() (pos cursor, limit int64, ok bool, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return cursor{}, 0, false, ErrClosed
	}
	if s.stats.UnreadEntries == 0 {
		return cursor{}, 0, false, nil
	}
	c := &s.cur
	for c.seq > c.seg.last {
		if c.seg == s.activeLocked() {
			return cursor{}, 0, false, nil
		}
		next := s.segmentFromLocked(c.seq)
		if next == nil {
			return cursor{}, 0, false, nil
		}
		*c = cursor{seq: max(c.seq, next.first), seg: next, off: segHeaderSize}
	}
	return *c, c.seg.size, true, nil
}

// segmentFromLocked returns the first segment holding entries at or after
// seq, or the active segment.
func (s *Spool) segmentFromLocked(seq uint64) *segment {
	for i, seg := range s.segments {
		if seg.last >= seq || (i == len(s.segments)-1 && seg.first >= seq) {
			return seg
		}
	}
	return nil
}

// advance moves the cursor past the entry at pos, which was just read.
func (s *Spool) advance(pos cursor, size int64, count int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if pos.seq > s.maxDeliv {
		s.out.push(delivered{cursor: pos, size: size, count: uint32(count)})
		s.maxDeliv = pos.seq
	}
	s.cur = cursor{seq: pos.seq + 1, seg: pos.seg, off: pos.off + size}
	s.stats.UnreadEntries--
	s.stats.UnreadRecords -= int64(count)
}

// Release hands the payloads of delivered entries back for reuse by later
// deliveries. It is optional (unreleased payloads are garbage collected);
// call it at most once per entry, after the last use of its payload.
func (s *Spool) Release(ents []Entry) {
	for i := range ents {
		s.free.put(ents[i].Payload)
		ents[i].Payload = nil
	}
}

// Ack records that every entry up to and including seq is durably stored
// downstream. The position is persisted (ack file, fsync'ed) before Ack
// returns, so those entries are not replayed after a restart, and segments
// holding only acknowledged entries are deleted. seq must not exceed the
// highest seq Next has delivered; acknowledging an older seq is a no-op.
func (s *Spool) Ack(seq uint64) error {
	s.readMu.Lock()
	defer s.readMu.Unlock()
	s.mu.Lock()
	closed, acked, maxDeliv := s.closed, s.stats.AckedSeq, s.maxDeliv
	s.mu.Unlock()
	switch {
	case closed:
		return ErrClosed
	case seq <= acked:
		return nil
	case seq > maxDeliv:
		return fmt.Errorf("spool ack %d (delivered up to %d): %w", seq, maxDeliv, ErrAckAhead)
	}
	if err := writeAckFile(s.opts.Dir, seq, !s.opts.NoSync); err != nil {
		return fmt.Errorf("spool ack %d: %w", seq, err)
	}
	if err := s.removeSegments(s.applyAck(seq)); err != nil {
		return fmt.Errorf("spool ack %d: %w", seq, err)
	}
	return nil
}

// applyAck updates the in-memory state for Ack(seq) and returns the
// segments to delete, already removed from the list.
func (s *Spool) applyAck(seq uint64) []*segment {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := &s.stats
	for s.out.len() > 0 && s.out.front().seq <= seq {
		d := s.out.pop()
		st.PendingEntries--
		st.PendingRecords -= int64(d.count)
		st.PendingBytes -= d.size
		st.AckedTotal++
		if d.seq >= s.cur.seq { // re-delivery after Rewind not yet reached it
			st.UnreadEntries--
			st.UnreadRecords -= int64(d.count)
			s.cur = cursor{seq: d.seq + 1, seg: d.seg, off: d.off + d.size}
		}
	}
	st.AckedSeq = seq
	n := 0
	for n < len(s.segments)-1 && s.segments[n].last <= seq {
		n++
	}
	doomed := slices.Clone(s.segments[:n])
	s.segments = slices.Delete(s.segments, 0, n)
	return doomed
}

// Rewind moves the read cursor back to the first unacknowledged entry, so
// that Next delivers again everything after the last Ack — for a writer
// whose insert failed and that retries with backoff.
func (s *Spool) Rewind() {
	s.readMu.Lock()
	defer s.readMu.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || s.out.len() == 0 || s.cur.seq <= s.out.front().seq {
		return
	}
	for i := 0; i < s.out.len() && s.out.at(i).seq < s.cur.seq; i++ {
		s.stats.UnreadEntries++
		s.stats.UnreadRecords += int64(s.out.at(i).count)
	}
	s.cur = s.out.front().cursor
	s.availSince = time.Time{}
	s.notifyLocked()
}

// removeSegments deletes segment files and fsyncs the directory.
func (s *Spool) removeSegments(segs []*segment) error {
	if len(segs) == 0 {
		return nil
	}
	var errs []error
	for _, seg := range segs {
		if err := os.Remove(seg.path); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	if !s.opts.NoSync {
		if err := syncDir(s.opts.Dir); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("remove acknowledged segments: %w", err)
	}
	return nil
}
