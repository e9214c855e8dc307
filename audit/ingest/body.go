package ingest

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/privaudit/privaudit/audit/apierr"
)

// inFlight counts the bytes of request bodies that ingest requests hold in
// memory at once, compressed and decompressed, against a limit: past it a
// request is answered 503 with Retry-After before it allocates anything.
type inFlight struct {
	limit int64
	used  atomic.Int64
}

// take reserves n bytes, reporting false (and reserving nothing) when that
// would pass the limit.
func (f *inFlight) take(n int64) bool {
	if f.used.Add(n) > f.limit {
		f.used.Add(-n)
		return false
	}
	return true
}

func (f *inFlight) give(n int64) { f.used.Add(-n) }

// requestBody is the decoder's view of one request body and the memory it
// holds until release.
type requestBody struct {
	io.Reader
	size     int   // decoded length, if known (Len)
	max      int   // the limit of the decoded length (MaxLen)
	reserved int64 // bytes taken from the in-flight budget
	wire     *[]byte
}

// Len is the body's decoded length when known, so that the decoder reads
// it into a buffer of exactly that size; 0 when unknown.
func (b *requestBody) Len() int { return b.size }

// MaxLen is the most the body may hold (more fails), so that the decoder
// grows its buffer no further while reading a body of unknown length.
func (b *requestBody) MaxLen() int { return b.max }

// body opens r's body within the limits: on the wire at most MaxBodyBytes;
// decompressed at most MaxDecompressedBytes; and the memory it will hold
// taken from the in-flight budget first. A gzip body is read whole (it is
// at most MaxBodyBytes) and inflated once only to count its length, so that
// neither a bomb nor a valid body grows a buffer past what it needs.
func (in *Ingestor) body(r *http.Request) (*requestBody, error) {
	if r.ContentLength > in.o.MaxBodyBytes {
		return nil, in.bodyTooLarge()
	}
	enc := strings.ToLower(strings.TrimSpace(r.Header.Get("Content-Encoding")))
	if enc != "" && enc != "identity" && enc != "gzip" {
		return nil, apierr.Errorf(apierr.Invalid, "unsupported Content-Encoding %q (use gzip or none)", r.Header.Get("Content-Encoding"))
	}
	wireSize := r.ContentLength
	if wireSize < 0 {
		wireSize = in.o.MaxBodyBytes // unknown until read: the most it may be
	}
	if !in.inFlight.take(wireSize) {
		return nil, in.busy()
	}
	b := &requestBody{reserved: wireSize}
	limited := http.MaxBytesReader(nil, r.Body, in.o.MaxBodyBytes)
	if enc != "gzip" {
		b.Reader, b.size, b.max = limited, int(max(r.ContentLength, 0)), int(in.o.MaxBodyBytes)
		return b, nil
	}
	if err := in.inflate(b, limited, r.ContentLength); err != nil {
		in.release(b)
		return nil, err
	}
	return b, nil
}

// inflate reads the gzip body from wire, measures its decompressed length
// against the limit, reserves it and makes b read it.
func (in *Ingestor) inflate(b *requestBody, wire io.Reader, size int64) error {
	b.wire = getWireBuf(size)
	buf := bytes.NewBuffer((*b.wire)[:0])
	_, err := buf.ReadFrom(wire)
	*b.wire = buf.Bytes()
	if tooLarge := new(http.MaxBytesError); errors.As(err, &tooLarge) {
		return in.bodyTooLarge()
	} else if err != nil {
		return &apierr.Error{Code: apierr.Invalid, Message: "cannot read request body: " + err.Error(), Err: err}
	}
	zr, err := gzip.NewReader(bytes.NewReader(*b.wire))
	if err != nil {
		return apierr.Errorf(apierr.Invalid, "Content-Encoding gzip: body is not gzip: %v", err)
	}
	n, err := io.Copy(io.Discard, io.LimitReader(zr, in.o.MaxDecompressedBytes+1))
	if n > in.o.MaxDecompressedBytes {
		return apierr.Errorf(apierr.TooLarge, "decompressed body exceeds %s (ingest.max_decompressed_bytes); split the file into smaller requests", sizeText(in.o.MaxDecompressedBytes))
	}
	if err != nil {
		return apierr.Errorf(apierr.Invalid, "Content-Encoding gzip: corrupt body after %d decompressed bytes: %v", n, err)
	}
	if !in.inFlight.take(n) {
		return in.busy()
	}
	b.reserved += n
	if err := zr.Reset(bytes.NewReader(*b.wire)); err != nil {
		return apierr.Errorf(apierr.Invalid, "Content-Encoding gzip: %v", err)
	}
	b.Reader, b.size, b.max = io.LimitReader(zr, n), int(n), int(n)
	return nil
}

// release gives b's memory back to the budget (and its buffer to the pool).
func (in *Ingestor) release(b *requestBody) {
	in.inFlight.give(b.reserved)
	b.reserved = 0
	if b.wire != nil {
		putWireBuf(b.wire)
		b.wire = nil
	}
}

func (in *Ingestor) busy() error {
	return &apierr.Error{Code: apierr.Unavailable, RetryAfter: in.o.RetryAfter,
		Message: "too many request bytes in flight (ingest.max_in_flight_bytes is " + sizeText(in.o.MaxInFlightBytes) + "); retry later"}
}

func (in *Ingestor) bodyTooLarge() error {
	return apierr.Errorf(apierr.TooLarge, "request body exceeds %s (ingest.max_body_bytes); split the file into smaller requests", sizeText(in.o.MaxBodyBytes))
}

// sizeText formats a byte count as "256 MiB", "4 KiB" or "1000 bytes".
func sizeText(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return strconv.FormatInt(n>>20, 10) + " MiB"
	case n >= 1<<10 && n%(1<<10) == 0:
		return strconv.FormatInt(n>>10, 10) + " KiB"
	}
	return strconv.FormatInt(n, 10) + " bytes"
}

// wireBufs hold compressed bodies, reused across requests.
var wireBufs sync.Pool

// maxPooledWire bounds the buffers kept for reuse.
const maxPooledWire = 16 << 20

func getWireBuf(size int64) *[]byte {
	b, _ := wireBufs.Get().(*[]byte)
	if b == nil {
		b = new([]byte)
	}
	if want := int(size) + bytes.MinRead; size > 0 && cap(*b) < want {
		*b = make([]byte, 0, want)
	}
	return b
}

func putWireBuf(b *[]byte) {
	if cap(*b) <= maxPooledWire {
		*b = (*b)[:0]
		wireBufs.Put(b)
	}
}
