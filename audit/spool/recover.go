package spool

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"
)

// scanResult is what scanning one segment found.
type scanResult struct {
	size     int64 // bytes up to the end of the last valid entry
	fileSize int64
	bad      error // why scanning stopped before the end of the file, if it did
	badHdr   bool  // the segment header itself is missing or torn

	entries, records, bytes int64 // entries with seq > acked
	cursor                  cursor
	hasCursor               bool // cursor is the first entry with seq > acked
}

// recover rebuilds the spool's state from the directory; it runs in Open
// before the committer starts.
func (s *Spool) recover(ctx context.Context) error {
	dir := s.opts.Dir
	os.Remove(filepath.Join(dir, ackTmpName)) // left by a crash in writeAckFile
	acked, haveAck, err := readAckFile(dir)
	if errors.Is(err, ErrCorrupt) {
		s.log.Warn("spool ack file damaged; unacknowledged entries may be replayed", "err", err)
	} else if err != nil {
		return err
	}
	segs, err := listSegments(dir)
	if err != nil {
		return err
	}
	if !haveAck && len(segs) > 0 {
		acked = segs[0].first - 1
	}
	segs, err = s.dropAckedSegments(segs, acked)
	if err != nil {
		return err
	}
	if haveAck && len(segs) > 0 && segs[0].first > acked+1 {
		s.log.Error("spool entries missing: gap after the acknowledged position",
			"acked_seq", acked, "next_segment", segs[0].path)
	}
	s.stats.AckedSeq, s.maxDeliv = acked, acked
	for i, seg := range segs {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := s.recoverSegment(seg, i == len(segs)-1, acked, segs[:i]); err != nil {
			return err
		}
	}
	s.segments = segs
	return s.openActive(acked)
}

// dropAckedSegments deletes segments whose entries are all acknowledged (a
// crash between writing the ack file and deleting them), except the newest.
func (s *Spool) dropAckedSegments(segs []*segment, acked uint64) ([]*segment, error) {
	n := 0
	for n < len(segs)-1 && segs[n+1].first-1 <= acked {
		n++
	}
	if n == 0 {
		return segs, nil
	}
	if err := s.removeSegments(segs[:n]); err != nil {
		return nil, err
	}
	return segs[n:], nil
}

// recoverSegment scans seg, truncates a torn tail if seg is the newest, and
// adds what it holds to the spool's state. prev are the segments before it.
func (s *Spool) recoverSegment(seg *segment, newest bool, acked uint64, prev []*segment) error {
	res, err := scanSegment(seg, acked)
	if err != nil {
		return err
	}
	if res.bad != nil {
		if !newest {
			return fmt.Errorf("%w: %s at offset %d: %v (move the file out of the spool directory to start without it)",
				ErrCorrupt, seg.path, res.size, res.bad)
		}
		if err := s.truncateTail(seg, &res); err != nil {
			return err
		}
	}
	if len(prev) > 0 {
		p := prev[len(prev)-1]
		if seg.first <= p.last {
			return fmt.Errorf("%w: %s overlaps %s", ErrCorrupt, seg.path, p.path)
		}
		if seg.first > p.last+1 {
			s.log.Error("spool entries missing: gap between segments",
				"after_seq", p.last, "next_segment", seg.path)
		}
	}
	seg.size = res.size
	s.stats.PendingEntries += res.entries
	s.stats.PendingRecords += res.records
	s.stats.PendingBytes += res.bytes
	s.stats.UnreadEntries += res.entries
	s.stats.UnreadRecords += res.records
	s.stats.RecoveredEntries += res.entries
	if res.hasCursor && s.cur.seg == nil {
		s.cur = res.cursor
	}
	return nil
}

// truncateTail cuts the newest segment back to its last valid entry (or
// rewrites a torn header) and makes that durable.
func (s *Spool) truncateTail(seg *segment, res *scanResult) error {
	torn := res.fileSize - res.size
	s.log.Warn("spool torn tail truncated", "segment", seg.path, "offset", res.size,
		"dropped_bytes", torn, "reason", res.bad)
	s.stats.TornBytes += torn
	f, err := os.OpenFile(seg.path, os.O_RDWR, 0)
	if err != nil {
		return fmt.Errorf("truncate torn tail: %w", err)
	}
	defer f.Close()
	if res.badHdr {
		res.size = segHeaderSize
		err = f.Truncate(0)
		if err == nil {
			err = writeSegHeader(f, seg.first, false)
		}
	}
	if err == nil {
		err = f.Truncate(res.size)
	}
	if err == nil && !s.opts.NoSync {
		err = f.Sync()
	}
	if err != nil {
		return fmt.Errorf("truncate torn tail %s: %w", seg.path, err)
	}
	return nil
}

// openActive opens the newest segment for appending, first creating one if
// there is none or if the acknowledged position is past its end.
func (s *Spool) openActive(acked uint64) error {
	if n := len(s.segments); n == 0 || s.segments[n-1].last < acked {
		f, seg, err := createSegment(s.opts.Dir, acked+1, !s.opts.NoSync)
		if err != nil {
			return err
		}
		s.w.f = f
		if !s.opts.NoSync {
			if err := syncDir(s.opts.Dir); err != nil {
				return err
			}
		}
		if n > 0 {
			s.log.Warn("spool acknowledged position past the last entry",
				"acked_seq", acked, "last_seq", s.segments[n-1].last)
		}
		s.segments = append(s.segments, seg)
		if err := s.removeSegments(s.segments[:n]); err != nil {
			return err
		}
		s.segments = s.segments[n:]
	} else {
		f, err := os.OpenFile(s.segments[n-1].path, os.O_RDWR, 0)
		if err != nil {
			return fmt.Errorf("open active segment: %w", err)
		}
		s.w.f = f
	}
	s.w.seg = s.activeLocked()
	s.w.off = s.w.seg.size
	s.w.nextSeq = s.w.seg.last + 1
	if s.cur.seg == nil {
		s.cur = cursor{seq: s.w.nextSeq, seg: s.w.seg, off: s.w.seg.size}
	}
	s.availSince = time.Time{}
	return nil
}

// scanSegment validates seg's header and entries. It sets seg.last and
// reports in res.bad where and why the valid entries end early.
func scanSegment(seg *segment, acked uint64) (scanResult, error) {
	var res scanResult
	f, err := os.Open(seg.path)
	if err != nil {
		return res, fmt.Errorf("scan segment: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return res, fmt.Errorf("scan segment: %w", err)
	}
	res.fileSize = fi.Size()
	br := bufio.NewReaderSize(f, 1<<20)
	if err := checkSegHeader(br, seg.first, res.fileSize); err != nil {
		if errors.Is(err, errTornHeader) {
			res.bad, res.badHdr = err, true
			return res, nil
		}
		return res, fmt.Errorf("%w: %s: %v", ErrCorrupt, seg.path, err)
	}
	res.size = segHeaderSize
	var hdr [recHeaderSize]byte
	var payload []byte
	for res.size < res.fileSize {
		h, err := readEntry(br, hdr[:], &payload, res.fileSize-res.size, seg.last+1)
		if err != nil {
			var ioErr *os.PathError
			if errors.As(err, &ioErr) {
				return res, fmt.Errorf("scan segment: %w", err)
			}
			res.bad = err
			return res, nil
		}
		seg.last = h.seq
		size := recHeaderSize + int64(h.length)
		if h.seq > acked {
			if !res.hasCursor {
				res.cursor = cursor{seq: h.seq, seg: seg, off: res.size}
				res.hasCursor = true
			}
			res.entries++
			res.records += int64(h.count)
			res.bytes += size
		}
		res.size += size
	}
	return res, nil
}

var errTornHeader = errors.New("segment header missing or torn")

func checkSegHeader(r io.Reader, first uint64, fileSize int64) error {
	var b [segHeaderSize]byte
	if fileSize < segHeaderSize {
		return errTornHeader
	}
	if err := readFull(r, b[:]); err != nil {
		return fmt.Errorf("read segment header: %w", err)
	}
	if b == [segHeaderSize]byte{} {
		return errTornHeader
	}
	if !bytes.Equal(b[:], segHeader(first)) {
		return errors.New("segment header does not match its name")
	}
	return nil
}

// readEntry reads and validates one entry whose seq must be want, with at
// most remain bytes left in the file. payload is reused between calls.
func readEntry(r io.Reader, hdr []byte, payload *[]byte, remain int64, want uint64) (recHeader, error) {
	if remain < recHeaderSize {
		return recHeader{}, fmt.Errorf("partial entry header (%d bytes)", remain)
	}
	if err := readFull(r, hdr); err != nil {
		return recHeader{}, err
	}
	h := parseRecHeader(hdr)
	if int64(h.length) > remain-recHeaderSize {
		return h, fmt.Errorf("entry length %d past end of file", h.length)
	}
	if cap(*payload) < int(h.length) {
		*payload = make([]byte, h.length)
	}
	p := (*payload)[:h.length]
	if err := readFull(r, p); err != nil {
		return h, err
	}
	if recordCRC(hdr, p) != h.crc {
		return h, fmt.Errorf("entry seq %d: CRC mismatch", h.seq)
	}
	if h.seq != want {
		return h, fmt.Errorf("entry seq %d, want %d", h.seq, want)
	}
	return h, nil
}
