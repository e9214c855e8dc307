package ingest

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/privaudit/privaudit/audit"
	"github.com/privaudit/privaudit/audit/apierr"
	"github.com/privaudit/privaudit/audit/spool"
)

// Response is the body of a successful ingest request. Accepted records are
// durably spooled; the writer stores each one in ClickHouse once.
type Response struct {
	Received   int  `json:"received"`
	Accepted   int  `json:"accepted"`
	Duplicates int  `json:"duplicates"` // repeated keys within the request, stored once
	Durable    bool `json:"durable"`
}

// sequencer hands out ingest sequence numbers: Unix nanoseconds of
// acceptance, strictly increasing within the process, one per record. They
// order records "later-ingested" for the consent tie rule (SPEC §3).
type sequencer struct{ last atomic.Uint64 }

func (s *sequencer) next(n int) uint64 {
	for {
		last := s.last.Load()
		now := uint64(time.Now().UnixNano())
		base := max(now, last+1)
		if s.last.CompareAndSwap(last, base+uint64(n)-1) {
			return base
		}
	}
}

// handle decodes, validates and spools one request of kind k.
func (in *Ingestor) handle(k audit.Kind) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		resp, err := in.ingest(r.Context(), k, r)
		code := http.StatusOK
		if err != nil {
			code = apierr.Status(apierr.Code(err))
			apierr.Write(w, r, in.log, err)
		} else {
			writeJSON(w, http.StatusOK, resp)
		}
		in.metrics.requests.WithLabelValues(string(k), fmt.Sprint(code)).Inc()
		if code != http.StatusOK {
			in.flow.rejected(k, 1, 0)
		}
		in.metrics.requestTime.WithLabelValues(string(k)).Observe(time.Since(start).Seconds())
	})
}

func (in *Ingestor) ingest(ctx context.Context, k audit.Kind, r *http.Request) (*Response, error) {
	if r.Method != http.MethodPost {
		return nil, apierr.Errorf(apierr.Invalid, "use POST")
	}
	body, err := in.body(r)
	if err != nil {
		return nil, err
	}
	defer in.release(body)
	opts := audit.DecodeOptions{Now: in.now, MaxRecords: in.o.MaxRecords}
	dec := getDecodeBuf()
	defer putDecodeBuf(dec) // after the records are encoded and spooled
	if n := body.Len(); n > 0 && n <= maxPooledDecode {
		dec.Grow(n)
	}
	buf := getPayloadBuf(int64(body.Len()))
	defer putPayloadBuf(buf)
	var received, kept int
	switch k {
	case audit.KindEvents:
		evs, err := dec.DecodeEvents(body, opts)
		if err != nil {
			return nil, in.decodeError(k, err)
		}
		received = len(evs)
		evs = dedupe(evs, func(e *audit.Event) string { return e.EventID })
		kept = len(evs)
		buf.b = audit.EncodeEvents(buf.b, evs)
	case audit.KindConsents:
		cs, err := dec.DecodeConsents(body, opts)
		if err != nil {
			return nil, in.decodeError(k, err)
		}
		received = len(cs)
		cs = dedupe(cs, func(c *audit.Consent) string { return c.ConsentEventID })
		kept = len(cs)
		buf.b = audit.EncodeConsents(buf.b, cs)
	}
	resp := &Response{Received: received, Accepted: kept, Duplicates: received - kept, Durable: true}
	if kept == 0 {
		return resp, nil
	}
	binary.BigEndian.PutUint64(buf.b, in.seq.next(kept)) // the payload header
	if _, err := in.spools[k].Append(ctx, buf.b, kept); err != nil {
		return nil, in.spoolError(err)
	}
	in.accepted(k, kept, received-kept)
	return resp, nil
}

// decodeBufs are reused across requests: decoding a large request into
// fresh memory costs page faults and zeroing for every page.
var decodeBufs sync.Pool

// maxPooledDecode bounds the memory of the decode buffers kept for reuse.
const maxPooledDecode = 64 << 20

func getDecodeBuf() *audit.Buffer {
	if b, ok := decodeBufs.Get().(*audit.Buffer); ok {
		return b
	}
	return new(audit.Buffer)
}

func putDecodeBuf(b *audit.Buffer) {
	if b.Size() <= maxPooledDecode {
		decodeBufs.Put(b)
	}
}

// payloadBuf is a reusable buffer for encoding one request's spool entry;
// the spool does not retain a payload once Append returns.
type payloadBuf struct{ b []byte }

var payloadBufs sync.Pool

// maxPooledPayload bounds the buffers kept for reuse.
const maxPooledPayload = 32 << 20

// getPayloadBuf returns a buffer holding the 8-byte payload header, with
// room for the records of a request body of about size bytes (the binary
// form is smaller than the JSON).
func getPayloadBuf(size int64) *payloadBuf {
	pb, _ := payloadBufs.Get().(*payloadBuf)
	if pb == nil {
		pb = &payloadBuf{}
	}
	if want := 8 + int(min(max(size, 0), maxPooledPayload)); cap(pb.b) < want {
		// Rounded up to whole MiB, so that the buffer fits the next
		// requests of about this size too instead of being replaced by
		// each larger one.
		pb.b = make([]byte, 0, (want+1<<20-1)&^(1<<20-1))
	}
	pb.b = append(pb.b[:0], make([]byte, 8)...)
	return pb
}

func putPayloadBuf(pb *payloadBuf) {
	if cap(pb.b) <= maxPooledPayload {
		payloadBufs.Put(pb)
	}
}

func (in *Ingestor) decodeError(k audit.Kind, err error) error {
	var ve *audit.ValidationError
	if errors.As(err, &ve) {
		in.metrics.rejected.WithLabelValues(string(k)).Add(float64(max(ve.BadRecords, 1)))
		in.flow.rejected(k, 0, max(ve.BadRecords, 1))
		return &apierr.Error{Code: apierr.Invalid, Message: fmt.Sprintf("%d invalid record(s); nothing was stored: fix them and resend the whole request", ve.BadRecords),
			Details: map[string]any{"problems": ve.Problems, "omitted": ve.Omitted}, Err: err}
	}
	if tooLarge := new(http.MaxBytesError); errors.As(err, &tooLarge) {
		return in.bodyTooLarge()
	}
	return &apierr.Error{Code: apierr.Invalid, Message: "cannot read request body: " + err.Error(), Err: err}
}

func (in *Ingestor) spoolError(err error) error {
	switch {
	case errors.Is(err, spool.ErrFull):
		return &apierr.Error{Code: apierr.Unavailable, Message: "spool full: ClickHouse is behind or down; retry later", RetryAfter: in.o.RetryAfter, Err: err}
	case errors.Is(err, spool.ErrTooLarge):
		return apierr.Errorf(apierr.TooLarge, "request too large for the spool; split it")
	case errors.Is(err, spool.ErrClosed):
		return &apierr.Error{Code: apierr.Unavailable, Message: "shutting down; retry later", RetryAfter: in.o.RetryAfter, Err: err}
	}
	return fmt.Errorf("spool append: %w", err)
}

func logger(l *slog.Logger) *slog.Logger {
	if l == nil {
		return slog.Default()
	}
	return l
}
