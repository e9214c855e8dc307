package chserver

import (
	"context"
	"path/filepath"
	"sync"
	"time"
)

// SuperviseOptions tune Supervise.
type SuperviseOptions struct {
	// MinBackoff is the wait before the first restart after a crash
	// (default 500ms); it doubles while restarts fail or the server keeps
	// crashing within a minute of its start, up to MaxBackoff.
	MinBackoff time.Duration
	// MaxBackoff caps the wait between restarts (default 30s).
	MaxBackoff time.Duration
}

// stableRun is how long a restarted server must run before a new crash
// starts the backoff again from MinBackoff.
const stableRun = time.Minute

type supervisor struct {
	stop     chan struct{}
	stopOnce sync.Once
	done     chan struct{}
}

// Supervise restarts the server whenever its process exits other than by
// Stop — a crash, an OOM kill — on the same directory, ports and
// credentials, so pooled clients reconnect to it. Each exit and restart is
// logged; Restarts counts them. Stop ends supervision first, so a
// deliberate stop is never undone. Supervise does nothing for a server this
// process did not start (attached) or one already supervised.
func (s *Server) Supervise(o SuperviseOptions) {
	if o.MinBackoff <= 0 {
		o.MinBackoff = 500 * time.Millisecond
	}
	if o.MaxBackoff < o.MinBackoff {
		o.MaxBackoff = max(30*time.Second, o.MinBackoff)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil || s.sup != nil {
		return
	}
	sup := &supervisor{stop: make(chan struct{}), done: make(chan struct{})}
	s.sup = sup
	go s.supervise(sup, o)
}

// Restarts is how many times Supervise restarted the server.
func (s *Server) Restarts() uint64 { return s.restarts.Load() }

// endSupervision stops the supervisor and waits for it, so that the process
// Stop then sees is the last one.
func (s *Server) endSupervision() {
	s.mu.Lock()
	sup := s.sup
	s.sup = nil
	s.mu.Unlock()
	if sup == nil {
		return
	}
	sup.stopOnce.Do(func() { close(sup.stop) })
	<-sup.done
}

func (s *Server) supervise(sup *supervisor, o SuperviseOptions) {
	defer close(sup.done)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-sup.stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	backoff := o.MinBackoff
	started := time.Now()
	for {
		cmd, done := s.process()
		select {
		case <-sup.stop:
			return
		case <-done:
		}
		if time.Since(started) >= stableRun {
			backoff = o.MinBackoff
		}
		s.log.Error("managed clickhouse exited unexpectedly; restarting it", "pid", cmd.Process.Pid,
			"exit", s.exitErr(), "ran", time.Since(started).Round(time.Second), "retry_in", backoff, "logs", filepath.Join(s.Dir, "logs"))
		var ok bool
		if backoff, ok = s.restart(ctx, sup, o, backoff); !ok {
			return
		}
		started = time.Now()
	}
}

// restart relaunches the server, waiting backoff before each attempt and
// doubling it up to o.MaxBackoff after each failure; it returns the next
// backoff, and false when supervision ended first.
func (s *Server) restart(ctx context.Context, sup *supervisor, o SuperviseOptions, backoff time.Duration) (time.Duration, bool) {
	for attempt := 1; ; attempt++ {
		timer := time.NewTimer(backoff)
		select {
		case <-sup.stop:
			timer.Stop()
			return backoff, false
		case <-timer.C:
		}
		err := s.relaunch(ctx)
		next := min(2*backoff, o.MaxBackoff)
		if err == nil {
			n := s.restarts.Add(1)
			s.log.Warn("managed clickhouse restarted", "addr", s.Addr, "pid", s.Pid(), "restarts", n, "attempt", attempt)
			return next, true
		}
		if ctx.Err() != nil {
			return backoff, false
		}
		s.log.Error("managed clickhouse restart failed; retrying", "attempt", attempt, "retry_in", next, "err", err)
		backoff = next
	}
}
