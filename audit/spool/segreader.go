package spool

import (
	"fmt"
	"os"
	"sync"
)

// readChunk is how much the reader reads ahead within committed bytes.
const readChunk = 1 << 20

// segReader reads committed entries from segment files for Next. It only
// ever reads below the committed size of a segment, so it never sees bytes
// the committer is writing. Guarded by Spool.readMu.
type segReader struct {
	seg    *segment
	f      *os.File
	buf    []byte // file bytes [bufOff, bufOff+len(buf)), all committed
	bufOff int64
	free   *payloadPool
}

// payloadPool recycles the payload buffers of delivered entries that their
// reader handed back (Spool.Release): a writer moving large batches would
// otherwise allocate, and have the kernel fault in and zero, megabytes per
// entry.
type payloadPool struct{ p sync.Pool } // of *[]byte

// get returns a buffer of n bytes, recycled if one large enough is at hand.
// Buffers past 64 KiB get a capacity rounded up to whole MiB, so that one
// fits later payloads of about its size too rather than being dropped for
// each larger one.
func (f *payloadPool) get(n int) []byte {
	b, ok := f.p.Get().(*[]byte)
	if ok && cap(*b) >= n {
		return (*b)[:n]
	}
	if ok && cap(*b) >= 64<<10 {
		f.p.Put(b) // fits a smaller payload
	}
	c := n
	if n > 64<<10 {
		c = (n + 1<<20 - 1) &^ (1<<20 - 1)
	}
	return make([]byte, n, c)
}

func (f *payloadPool) put(b []byte) {
	if cap(b) > 0 {
		f.p.Put(&b)
	}
}

func (r *segReader) close() {
	if r.f != nil {
		r.f.Close()
	}
	*r = segReader{free: r.free}
}

func (r *segReader) use(seg *segment) error {
	if r.seg == seg {
		return nil
	}
	r.close()
	f, err := os.Open(seg.path)
	if err != nil {
		return fmt.Errorf("open segment: %w", err)
	}
	r.seg, r.f = seg, f
	return nil
}

// read reads and verifies the entry at pos; limit is the committed size of
// its segment. When accept returns false for the entry's record count, read
// returns ok false without reading the payload.
func (r *segReader) read(pos cursor, limit int64, accept func(count int) bool) (e Entry, size int64, ok bool, err error) {
	if err := r.use(pos.seg); err != nil {
		return Entry{}, 0, false, err
	}
	b, err := r.view(pos.off, recHeaderSize, limit)
	if err != nil {
		return Entry{}, 0, false, err
	}
	var hdr [recHeaderSize]byte
	copy(hdr[:], b)
	h := parseRecHeader(hdr[:])
	size = recHeaderSize + int64(h.length)
	if h.seq != pos.seq || pos.off+size > limit {
		return Entry{}, 0, false, fmt.Errorf("%w: %s offset %d: entry seq %d length %d, want seq %d within %d bytes",
			ErrCorrupt, pos.seg.path, pos.off, h.seq, h.length, pos.seq, limit)
	}
	if !accept(int(h.count)) {
		return Entry{}, 0, false, nil
	}
	p, err := r.payload(pos.off+recHeaderSize, int(h.length), limit)
	if err != nil {
		return Entry{}, 0, false, err
	}
	if recordCRC(hdr[:], p) != h.crc {
		return Entry{}, 0, false, fmt.Errorf("%w: %s offset %d: entry seq %d: CRC mismatch",
			ErrCorrupt, pos.seg.path, pos.off, h.seq)
	}
	return Entry{Seq: h.seq, Payload: p, Count: int(h.count)}, size, true, nil
}

// payload returns a copy of n bytes at off, owned by the caller, in a
// buffer handed back by Release when one is large enough.
func (r *segReader) payload(off int64, n int, limit int64) ([]byte, error) {
	p := r.free.get(n)
	if n >= readChunk/4 && !r.buffered(off, n) {
		if _, err := r.f.ReadAt(p, off); err != nil {
			return nil, fmt.Errorf("read %s: %w", r.seg.path, err)
		}
		return p, nil
	}
	b, err := r.view(off, n, limit)
	if err != nil {
		return nil, err
	}
	copy(p, b)
	return p, nil
}

func (r *segReader) buffered(off int64, n int) bool {
	return off >= r.bufOff && off+int64(n) <= r.bufOff+int64(len(r.buf))
}

// view returns n bytes at off, valid until the next call, reading ahead up
// to readChunk bytes but never past limit.
func (r *segReader) view(off int64, n int, limit int64) ([]byte, error) {
	if !r.buffered(off, n) {
		want := min(max(int64(n), readChunk), limit-off)
		if want < int64(n) {
			return nil, fmt.Errorf("%w: %s offset %d: entry runs past the committed end %d",
				ErrCorrupt, r.seg.path, off, limit)
		}
		if int64(cap(r.buf)) < want {
			r.buf = make([]byte, want)
		}
		r.buf = r.buf[:want]
		if _, err := r.f.ReadAt(r.buf, off); err != nil {
			r.buf = r.buf[:0]
			return nil, fmt.Errorf("read %s: %w", r.seg.path, err)
		}
		r.bufOff = off
	}
	i := off - r.bufOff
	return r.buf[i : i+int64(n)], nil
}
