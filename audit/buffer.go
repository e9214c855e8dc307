package audit

import (
	"fmt"
	"io"
	"strings"
	"unsafe"
)

// A Buffer holds the memory that decoding one input takes — the copy of the
// input and the decoded records — so that a server can reuse it from request
// to request. Decoding a request of tens of megabytes into fresh memory
// costs more than one would think: every new page is faulted in and zeroed
// by the kernel. A Buffer's records share its memory and are valid only
// until its next use; a ValidationError it returns shares none. A Buffer is
// not safe for concurrent use; the zero value is ready to use.
type Buffer struct {
	src      []byte
	events   []Event
	consents []Consent
	slab     []string
}

// DecodeEvents is DecodeEvents reading into b: the returned events are
// valid until b is used again.
func (b *Buffer) DecodeEvents(r io.Reader, opts DecodeOptions) ([]Event, error) {
	src, err := b.read(r)
	if err != nil {
		return nil, err
	}
	out, kept, err := decodeSource(src, b.events, b.slab, opts, decodeEvent)
	b.events = keepBacking(b.events, out)
	b.growSlab(kept)
	return out, detach(err)
}

// DecodeConsents is DecodeConsents reading into b: the returned consents
// are valid until b is used again.
func (b *Buffer) DecodeConsents(r io.Reader, opts DecodeOptions) ([]Consent, error) {
	src, err := b.read(r)
	if err != nil {
		return nil, err
	}
	out, kept, err := decodeSource(src, b.consents, b.slab, opts, decodeConsent)
	b.consents = keepBacking(b.consents, out)
	b.growSlab(kept)
	return out, detach(err)
}

// Size is the memory b holds, in bytes (roughly): callers pooling Buffers
// drop the large ones.
func (b *Buffer) Size() int {
	return cap(b.src) + cap(b.events)*int(unsafe.Sizeof(Event{})) +
		cap(b.consents)*int(unsafe.Sizeof(Consent{})) + cap(b.slab)*int(unsafe.Sizeof(""))
}

// Grow makes room for an input of about n bytes — a request's
// Content-Length, say — so that reading it does not grow the buffer again
// and again. Room is rounded up to a whole MiB, so that a pooled Buffer fits
// inputs of a similar size.
func (b *Buffer) Grow(n int) {
	if n++; n > cap(b.src) { // +1: the read that sees EOF needs room
		b.src = make([]byte, 0, (n+1<<20-1)&^(1<<20-1))
	}
}

// read reads all of r into b.src and returns it as a string sharing its
// memory; the records decoded from it point into it. A reader of unknown
// length grows b.src by doubling, but never past MaxLen()+1 if r has that
// method (as a body under a size limit does): what reads past it fails.
func (b *Buffer) read(r io.Reader) (string, error) {
	b.src = b.src[:0]
	if l, ok := r.(interface{ Len() int }); ok {
		b.Grow(l.Len())
	}
	limit := -1
	if m, ok := r.(interface{ MaxLen() int }); ok {
		limit = m.MaxLen() + 1
	}
	for {
		if len(b.src) == cap(b.src) {
			want := len(b.src) + max(cap(b.src), 64<<10) // double
			if limit >= 0 {
				want = max(min(want, limit), len(b.src)+1)
			}
			b.src = append(make([]byte, 0, want), b.src...)
		}
		n, err := r.Read(b.src[len(b.src):cap(b.src)])
		b.src = b.src[:len(b.src)+n]
		if err == io.EOF {
			break
		}
		if err != nil {
			return "", fmt.Errorf("audit: read input: %w", err)
		}
	}
	return unsafe.String(unsafe.SliceData(b.src), len(b.src)), nil
}

// keepBacking returns the slice whose array the next decode should reuse:
// out's when decoding grew it, otherwise the one already kept.
func keepBacking[T any](kept, out []T) []T {
	if cap(out) > cap(kept) {
		return out[:0]
	}
	return kept
}

// growSlab makes the first slab of the next decode large enough for as
// many strings as this one kept.
func (b *Buffer) growSlab(kept int) {
	if kept > cap(b.slab) {
		b.slab = make([]string, 0, kept+kept/8)
	}
}

// detach copies the strings of a ValidationError's problems, which may
// point into the Buffer, so that the error outlives its next use.
func detach(err error) error {
	ve, ok := err.(*ValidationError)
	if !ok {
		return err
	}
	for i := range ve.Problems {
		ve.Problems[i].Field = strings.Clone(ve.Problems[i].Field)
		ve.Problems[i].Reason = strings.Clone(ve.Problems[i].Reason)
	}
	return ve
}
