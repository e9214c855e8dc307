package sqlconsole

import (
	"sync"
	"time"

	"github.com/privaudit/privaudit/audit/apierr"
)

// Default query slots: MaxQueries matches the reader pool privaudit serve
// opens, and no token may hold more than MaxQueriesPerToken of them.
const (
	DefaultMaxQueries         = 8
	DefaultMaxQueriesPerToken = 2
	// slotRetryAfter is the Retry-After of a refusal for want of a slot.
	slotRetryAfter = 5 * time.Second
)

// slots admits ad-hoc queries: at most total at once, and at most perToken
// for one token, so one officer cannot take every reader connection. A
// query holds its slot from its start until its result is streamed.
type slots struct {
	total, perToken int
	mu              sync.Mutex
	running         int
	byToken         map[string]int
}

func newSlots(total, perToken int) *slots {
	return &slots{total: total, perToken: perToken, byToken: map[string]int{}}
}

// acquire takes a slot for token, or refuses: 429 when the token already
// runs perToken queries, 503 when every slot is taken. The caller must call
// release once.
func (s *slots) acquire(token string) (release func(), err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var refusal *apierr.Error
	switch {
	case s.byToken[token] >= s.perToken:
		refusal = apierr.Errorf(apierr.TooMany, "this token already has %d queries running, the limit per token; "+
			"wait for one to finish, then try again", s.perToken)
	case s.running >= s.total:
		refusal = apierr.Errorf(apierr.Unavailable, "all %d ad-hoc query slots are busy; try again in a moment", s.total)
	}
	if refusal != nil {
		refusal.RetryAfter = slotRetryAfter
		return nil, refusal
	}
	s.running++
	s.byToken[token]++
	var once sync.Once
	return func() { once.Do(func() { s.release(token) }) }, nil
}

func (s *slots) release(token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.running--
	if s.byToken[token]--; s.byToken[token] <= 0 {
		delete(s.byToken, token)
	}
}
