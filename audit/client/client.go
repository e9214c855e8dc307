// Package client sends NDJSON files of access or consent events to a running
// privaudit over its HTTP API, in chunks, retrying on 503/Retry-After and on
// network errors so the sending side loses nothing: every record is
// idempotent by its key, so a retried chunk is stored once.
package client

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/privaudit/privaudit/audit"
)

// Options configure a Sender.
type Options struct {
	Server string // base URL, e.g. http://127.0.0.1:8700
	Token  string
	// ChunkRecords and ChunkBytes bound one request (defaults 20,000 and 8 MiB).
	ChunkRecords int
	ChunkBytes   int
	// Parallel requests for events (default 4). Consents are always sent one
	// request at a time, in file order, because the order of consent events
	// decides ties (SPEC §3).
	Parallel int
	// MaxWait bounds how long one chunk is retried (default 10 minutes).
	MaxWait time.Duration
	// Progress, if set, is called after each chunk with the running totals.
	Progress   func(Summary)
	HTTPClient *http.Client
	Logger     *slog.Logger
}

// Summary counts what a Send did.
type Summary struct {
	Records    int // read from the input
	Accepted   int // acknowledged (durably spooled) by the server
	Duplicates int
	Rejected   int // records in chunks the server refused as invalid
	Retries    int
	Bytes      int64
	Problems   []Problem // the rejected lines, with file line numbers
}

// Problem is one line the server refused.
type Problem struct {
	File   string `json:"file"`
	Line   int    `json:"line"`
	Field  string `json:"field"`
	Reason string `json:"reason"`
}

func (p Problem) String() string {
	if p.Field == "" {
		return fmt.Sprintf("%s:%d: %s", p.File, p.Line, p.Reason)
	}
	return fmt.Sprintf("%s:%d: field %q: %s", p.File, p.Line, p.Field, p.Reason)
}

// ErrRejected is returned by Send when any chunk was refused as invalid.
var ErrRejected = errors.New("some records were rejected")

// Sender sends files to one server.
type Sender struct {
	o   Options
	mu  sync.Mutex
	sum Summary
}

// New returns a Sender.
func New(o Options) *Sender {
	if o.ChunkRecords <= 0 {
		o.ChunkRecords = 20_000
	}
	if o.ChunkBytes <= 0 {
		o.ChunkBytes = 8 << 20
	}
	if o.Parallel <= 0 {
		o.Parallel = 4
	}
	if o.MaxWait <= 0 {
		o.MaxWait = 10 * time.Minute
	}
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{Timeout: 5 * time.Minute}
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	o.Server = strings.TrimRight(o.Server, "/")
	return &Sender{o: o}
}

// Summary returns the totals so far.
func (s *Sender) Summary() Summary {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.sum
	out.Problems = append([]Problem(nil), s.sum.Problems...)
	return out
}

type chunk struct {
	file      string
	firstLine int   // file line number of the chunk's first line
	lines     []int // file line number of each record line in body
	body      []byte
}

// Send streams r (named name in messages) as kind. It returns ErrRejected
// (wrapped) if the server refused any chunk, after sending all the others.
func (s *Sender) Send(ctx context.Context, kind audit.Kind, name string, r io.Reader) error {
	parallel := s.o.Parallel
	if kind == audit.KindConsents {
		parallel = 1
	}
	chunks := make(chan chunk, parallel)
	// Sent chunks' buffers are filled again: a fresh one per chunk would
	// make every byte of the input land in newly faulted-in memory.
	free := make(chan chunk, 2*parallel+1)
	errc := make(chan error, parallel+1)
	var wg sync.WaitGroup
	for i := 0; i < parallel; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for c := range chunks {
				if err := s.post(ctx, kind, c); err != nil {
					errc <- err
					return
				}
				select {
				case free <- c:
				default:
				}
			}
		}()
	}
	readErr := s.split(ctx, name, r, chunks, free)
	close(chunks)
	wg.Wait()
	close(errc)
	for err := range errc {
		return err
	}
	if readErr != nil {
		return readErr
	}
	if s.Summary().Rejected > 0 {
		return fmt.Errorf("%s: %w", name, ErrRejected)
	}
	return nil
}

// split cuts the input into chunks at line boundaries.
// Chunks are taken from free when one is there.
func (s *Sender) split(ctx context.Context, name string, r io.Reader, out chan<- chunk, free <-chan chunk) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 1<<20), 64<<20)
	c := s.newChunk(name, free)
	line := 0
	for sc.Scan() {
		line++
		b := bytes.TrimSpace(sc.Bytes())
		if len(b) == 0 {
			continue
		}
		if len(c.lines) == 0 {
			c.firstLine = line
		}
		c.body = append(append(c.body, b...), '\n')
		c.lines = append(c.lines, line)
		if len(c.lines) >= s.o.ChunkRecords || len(c.body) >= s.o.ChunkBytes {
			select {
			case out <- c:
			case <-ctx.Done():
				return ctx.Err()
			}
			c = s.newChunk(name, free)
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("read %s line %d: %w", name, line+1, err)
	}
	if len(c.lines) > 0 {
		select {
		case out <- c:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// newChunk returns an empty chunk with room for a full one, so filling it
// does not grow (and copy) its buffers again and again: a sent one from
// free if there is one, else a new one.
func (s *Sender) newChunk(name string, free <-chan chunk) chunk {
	select {
	case c := <-free:
		return chunk{file: name, body: c.body[:0], lines: c.lines[:0]}
	default:
	}
	return chunk{file: name, body: make([]byte, 0, s.o.ChunkBytes+64<<10), lines: make([]int, 0, min(s.o.ChunkRecords, 1<<20))}
}

type ingestResponse struct {
	Received, Accepted, Duplicates int
}

type errorResponse struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		Details struct {
			Problems []struct {
				Line   int    `json:"line"`
				Field  string `json:"field"`
				Reason string `json:"reason"`
			} `json:"problems"`
		} `json:"details"`
	} `json:"error"`
}

// post sends one chunk, retrying 503s, 5xx and network errors with backoff
// until MaxWait; a 4xx other than 408/429 is final.
func (s *Sender) post(ctx context.Context, kind audit.Kind, c chunk) error {
	deadline := time.Now().Add(s.o.MaxWait)
	backoff := 200 * time.Millisecond
	for attempt := 0; ; attempt++ {
		status, body, retryAfter, err := s.do(ctx, kind, c.body)
		if err == nil && status == http.StatusOK {
			var ir ingestResponse
			if err := json.Unmarshal(body, &ir); err != nil {
				return fmt.Errorf("%s: bad response from server: %w", c.file, err)
			}
			s.record(func(sum *Summary) {
				sum.Records += len(c.lines)
				sum.Accepted += ir.Accepted
				sum.Duplicates += ir.Duplicates
				sum.Bytes += int64(len(c.body))
			})
			return nil
		}
		if err == nil && status >= 400 && status < 500 && status != 408 && status != 429 {
			return s.rejected(c, status, body)
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		wait := backoff/2 + rand.N(backoff/2+1)
		if retryAfter > 0 {
			wait = retryAfter
		}
		if time.Now().Add(wait).After(deadline) {
			return fmt.Errorf("%s lines %d–%d: server still unavailable after %s (last: status %d, %v); nothing from this chunk is lost on the server side — resend the file, records are deduplicated", c.file, c.firstLine, c.lines[len(c.lines)-1], s.o.MaxWait, status, err)
		}
		s.record(func(sum *Summary) { sum.Retries++ })
		s.o.Logger.Debug("retrying chunk", "file", c.file, "status", status, "err", err, "wait", wait)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
		backoff = min(backoff*2, 10*time.Second)
	}
}

func (s *Sender) do(ctx context.Context, kind audit.Kind, body []byte) (int, []byte, time.Duration, error) {
	// The transport may go on reading a body after the response came, and
	// the body's memory is reused once do returns: wait until every body
	// given to it is closed, which it always is (http.RoundTripper's
	// contract).
	var open sync.WaitGroup
	defer open.Wait()
	newBody := func() (io.ReadCloser, error) {
		open.Add(1)
		return &reqBody{Reader: bytes.NewReader(body), done: open.Done}, nil
	}
	rb, _ := newBody()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.o.Server+"/v1/"+string(kind), rb)
	if err != nil {
		rb.Close()
		return 0, nil, 0, err
	}
	req.ContentLength, req.GetBody = int64(len(body)), newBody
	req.Header.Set("Content-Type", "application/x-ndjson")
	req.Header.Set("Authorization", "Bearer "+s.o.Token)
	resp, err := s.o.HTTPClient.Do(req)
	if err != nil {
		return 0, nil, 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	var ra time.Duration
	if v, perr := strconv.Atoi(resp.Header.Get("Retry-After")); perr == nil && v >= 0 {
		ra = time.Duration(v) * time.Second
	}
	return resp.StatusCode, b, ra, err
}

// reqBody is a request body that says when the transport is done with it
// by calling done once.
type reqBody struct {
	*bytes.Reader
	once sync.Once
	done func()
}

func (b *reqBody) Close() error {
	b.once.Do(b.done)
	return nil
}

func (s *Sender) rejected(c chunk, status int, body []byte) error {
	var er errorResponse
	_ = json.Unmarshal(body, &er)
	if status == http.StatusUnauthorized || status == http.StatusForbidden {
		return fmt.Errorf("server refused the token (%d %s): %s; check PRIVAUDIT_TOKEN (create one with `privaudit token create --role ingest`)", status, http.StatusText(status), er.Error.Message)
	}
	if status != http.StatusBadRequest || len(er.Error.Details.Problems) == 0 {
		return fmt.Errorf("%s lines %d–%d: server answered %d: %s", c.file, c.firstLine, c.lines[len(c.lines)-1], status, strings.TrimSpace(string(body)))
	}
	s.record(func(sum *Summary) {
		sum.Records += len(c.lines)
		sum.Rejected += len(c.lines)
		for _, p := range er.Error.Details.Problems {
			line := p.Line
			if line >= 1 && line <= len(c.lines) {
				line = c.lines[line-1] // the chunk's line → the file's line
			}
			sum.Problems = append(sum.Problems, Problem{File: c.file, Line: line, Field: p.Field, Reason: p.Reason})
		}
	})
	return nil
}

func (s *Sender) record(f func(*Summary)) {
	s.mu.Lock()
	f(&s.sum)
	sum := s.sum
	s.mu.Unlock()
	if s.o.Progress != nil {
		s.o.Progress(sum)
	}
}
