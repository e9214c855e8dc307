package console

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"sync"
	"time"

	"github.com/privaudit/privaudit/audit/auth"
)

// session is one signed-in officer: the token it was opened with (its id,
// never its secret), its CSRF token and its two expiries.
type session struct {
	ID       string
	CSRF     string
	Identity auth.Identity
	Created  time.Time
	LastSeen time.Time
}

// sessions keeps the open sessions in memory: a restart of privaudit signs
// everyone out. A session ends at sign-out, after Idle without a request,
// Max after sign-in whatever its use, or when its token is revoked.
type sessions struct {
	idle, max time.Duration
	now       func() time.Time
	mu        sync.Mutex
	byID      map[string]*session
}

func newSessions(idle, max time.Duration, now func() time.Time) *sessions {
	return &sessions{idle: idle, max: max, now: now, byID: map[string]*session{}}
}

// open starts a session for id and returns a copy of it.
func (s *sessions) open(id auth.Identity) session {
	now := s.now()
	se := &session{ID: randomToken(), CSRF: randomToken(), Identity: id, Created: now, LastSeen: now}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sweepLocked(now)
	s.byID[se.ID] = se
	return *se
}

// get returns the live session sid and marks it used now; an expired one is
// ended and reported missing.
func (s *sessions) get(sid string) (session, bool) {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	se, ok := s.byID[sid]
	if !ok {
		return session{}, false
	}
	if s.expired(se, now) {
		delete(s.byID, sid)
		return session{}, false
	}
	se.LastSeen = now
	return *se, true
}

// end removes the session sid; it reports whether there was one.
func (s *sessions) end(sid string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.byID[sid]
	delete(s.byID, sid)
	return ok
}

// expiresAt is when se ends if it sees no other request.
func (s *sessions) expiresAt(se session) time.Time {
	idle, abs := se.LastSeen.Add(s.idle), se.Created.Add(s.max)
	if idle.Before(abs) {
		return idle
	}
	return abs
}

func (s *sessions) expired(se *session, now time.Time) bool {
	return !now.Before(se.LastSeen.Add(s.idle)) || !now.Before(se.Created.Add(s.max))
}

// sweepLocked drops expired sessions, so abandoned ones do not pile up.
func (s *sessions) sweepLocked(now time.Time) {
	for id, se := range s.byID {
		if s.expired(se, now) {
			delete(s.byID, id)
		}
	}
}

// validCSRF reports, in constant time, whether got is se's CSRF token.
func (se session) validCSRF(got string) bool {
	return got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(se.CSRF)) == 1
}

// randomToken returns 32 random bytes from crypto/rand, base64url-encoded.
func randomToken() string {
	var b [32]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	return base64.RawURLEncoding.EncodeToString(b[:])
}
