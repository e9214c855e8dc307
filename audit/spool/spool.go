package spool

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"
)

// Defaults applied by Open to zero Options fields.
const (
	DefaultMaxBytes     = 1 << 30
	DefaultSegmentBytes = 64 << 20
)

// maxRoundBytes caps the bytes one commit round writes (at least one entry
// is always taken), which bounds the committer's buffer.
const maxRoundBytes = 16 << 20

// minSegmentBytes is the smallest SegmentBytes Open accepts.
const minSegmentBytes = 4 << 10

// Errors returned by the spool. Errors from I/O are wrapped with context;
// test them with errors.Is.
var (
	// ErrFull is returned by Append when the entry would take the
	// unacknowledged bytes beyond Options.MaxBytes. It is transient: callers
	// answer 503 with Retry-After and the client retries.
	ErrFull = errors.New("spool: full")
	// ErrTooLarge is returned by Append for an entry that could never fit:
	// larger than Options.MaxBytes or MaxPayload. Retrying cannot help.
	ErrTooLarge = errors.New("spool: entry too large")
	// ErrClosed is returned by every method called after Close.
	ErrClosed = errors.New("spool: closed")
	// ErrCorrupt reports an invalid entry that is not a torn tail: one in an
	// older segment at Open, or a committed entry failing its CRC on read.
	ErrCorrupt = errors.New("spool: corrupt")
	// ErrLocked is returned by Open when another Spool, in this process or
	// another, has the directory open.
	ErrLocked = errors.New("spool: directory in use")
	// ErrAckAhead is returned by Ack for a seq beyond what Next delivered.
	ErrAckAhead = errors.New("spool: ack beyond delivered entries")
)

// Options configures Open.
type Options struct {
	// Dir is the spool directory; it is created if missing.
	Dir string
	// MaxBytes limits the unacknowledged bytes on disk (entry headers
	// included); Append returns ErrFull beyond it. Default DefaultMaxBytes.
	MaxBytes int64
	// SegmentBytes is the size at which segment files are rotated.
	// Default DefaultSegmentBytes.
	SegmentBytes int64
	// NoSync skips every fsync. For tests and benchmarks only: entries then
	// survive a process crash but not a machine crash.
	NoSync bool
	// Logger receives recovery and failure reports. Default slog.Default().
	Logger *slog.Logger
}

func (o Options) withDefaults() (Options, error) {
	if o.Dir == "" {
		return o, errors.New("open spool: Options.Dir is empty")
	}
	if o.MaxBytes <= 0 {
		o.MaxBytes = DefaultMaxBytes
	}
	if o.SegmentBytes <= 0 {
		o.SegmentBytes = DefaultSegmentBytes
	}
	o.SegmentBytes = max(o.SegmentBytes, minSegmentBytes)
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o, nil
}

// Entry is one appended payload as delivered by Next.
type Entry struct {
	// Seq is the entry's sequence number: unique, increasing, stable
	// across restarts.
	Seq uint64
	// Payload is the appended bytes; the slice is owned by the caller.
	Payload []byte
	// Count is the record count given to Append.
	Count int
}

// Stats is a snapshot of the spool's depth and counters, for /metrics.
// Pending means appended and not yet acknowledged; Unread means not yet
// delivered by Next since the last Rewind. Totals count since Open.
type Stats struct {
	PendingEntries int64
	PendingRecords int64
	PendingBytes   int64 // entry headers included; compared with MaxBytes
	QueuedBytes    int64 // accepted by Append, not yet committed
	UnreadEntries  int64
	UnreadRecords  int64
	MaxBytes       int64
	Segments       int
	DiskBytes      int64 // size of all segment files
	LastSeq        uint64
	AckedSeq       uint64

	RecoveredEntries     int64 // pending entries found by Open
	TornBytes            int64 // bytes of torn tail truncated by Open
	AppendedTotal        uint64
	AppendedRecordsTotal uint64
	AppendedBytesTotal   uint64
	AckedTotal           uint64 // entries acknowledged
	WritesTotal          uint64 // commit rounds written, one write call each
	CommitsTotal         uint64 // fsyncs of segment data, each covering one or more rounds
	FullTotal            uint64 // Appends refused with ErrFull
}

// Spool is a durable write-ahead spool. Append is safe for concurrent use;
// Next, NextWait, Ack and Rewind are meant for one reader (they are safe to
// call concurrently but then share one cursor). Open a Spool with Open.
type Spool struct {
	opts Options
	log  *slog.Logger
	lock *os.File

	kick     chan struct{} // wakes the committer; buffered 1
	stop     chan struct{} // closed by Close
	loopDone chan struct{} // closed when the committer and syncer exited
	toSync   chan *round   // written rounds, committer → syncer

	// w is owned by the committer goroutine (and by Open/Close around it).
	w struct {
		f       *os.File
		seg     *segment
		off     int64 // bytes written to seg, committed or not
		nextSeq uint64
		buf     []byte
	}

	readMu sync.Mutex // serializes Next/Ack/Rewind; guards rd
	rd     segReader
	free   *payloadPool // set by Open; rd reads payloads into its buffers

	mu         sync.Mutex
	closed     bool
	failed     error      // sticky: the segment file is in an unknown state
	queue      []*request // appends waiting for the committer
	segments   []*segment // ordered; the last is the active one
	notify     chan struct{}
	availSince time.Time     // when unread entries appeared (zero: long ago)
	lastAvail  time.Time     // when the newest entries became available
	meanGap    time.Duration // moving mean interval between arrivals; 0: unknown
	cur        cursor        // next entry Next delivers
	out        fifo          // delivered entries above acked
	maxDeliv   uint64        // highest seq ever delivered, or acked
	stats      Stats
}

// Open opens the spool in opts.Dir, creating it if needed. It validates every
// segment, truncates a torn tail in the newest one, skips acknowledged
// entries and positions the reader at the first unacknowledged entry.
func Open(ctx context.Context, opts Options) (*Spool, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(opts.Dir, 0o750); err != nil {
		return nil, fmt.Errorf("open spool: %w", err)
	}
	lock, err := lockDir(opts.Dir)
	if err != nil {
		return nil, fmt.Errorf("open spool %s: %w", opts.Dir, err)
	}
	s := &Spool{
		opts: opts, log: opts.Logger.With("spool", opts.Dir), lock: lock,
		kick: make(chan struct{}, 1), stop: make(chan struct{}),
		loopDone: make(chan struct{}), notify: make(chan struct{}),
		toSync: make(chan *round, 1024),
	}
	s.stats.MaxBytes = opts.MaxBytes
	s.free = new(payloadPool)
	s.rd.free = s.free
	if err := s.recover(ctx); err != nil {
		s.closeFiles()
		return nil, fmt.Errorf("open spool %s: %w", opts.Dir, err)
	}
	s.log.Info("spool opened", "segments", len(s.segments),
		"pending_entries", s.stats.PendingEntries, "pending_bytes", s.stats.PendingBytes,
		"acked_seq", s.stats.AckedSeq, "next_seq", s.w.nextSeq)
	go s.commitLoop()
	return s, nil
}

// Close stops accepting appends, commits (writes and fsyncs) every append
// already accepted, wakes blocked readers with ErrClosed and closes the
// files. Calling Close again returns nil.
func (s *Spool) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.notifyLocked()
	s.mu.Unlock()

	close(s.stop)
	<-s.loopDone
	s.readMu.Lock()
	defer s.readMu.Unlock()
	return s.closeFiles()
}

func (s *Spool) closeFiles() error {
	var errs []error
	s.rd.close()
	if s.w.f != nil {
		if !s.opts.NoSync && s.failedErr() == nil {
			errs = append(errs, s.w.f.Sync())
		}
		errs = append(errs, s.w.f.Close())
		s.w.f = nil
	}
	if s.lock != nil {
		errs = append(errs, s.lock.Close())
		s.lock = nil
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("close spool: %w", err)
	}
	return nil
}

// Stats returns a snapshot of the spool's depth and counters.
func (s *Spool) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stats
	st.Segments = len(s.segments)
	for _, seg := range s.segments {
		st.DiskBytes += seg.size
	}
	if n := len(s.segments); n > 0 {
		st.LastSeq = s.segments[n-1].last
	}
	return st
}

// Err returns the error that stopped the spool from accepting appends (a
// failed fsync leaves the segment in an unknown state; reopen to recover),
// or nil. For health checks.
func (s *Spool) Err() error {
	return s.failedErr()
}

func (s *Spool) failedErr() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.failed
}

// notifyLocked wakes every reader waiting for entries or for Close.
func (s *Spool) notifyLocked() {
	close(s.notify)
	s.notify = make(chan struct{})
}

// activeLocked returns the segment appends go to.
func (s *Spool) activeLocked() *segment {
	return s.segments[len(s.segments)-1]
}
