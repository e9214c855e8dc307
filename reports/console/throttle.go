package console

import (
	"net"
	"net/http"
	"sync"
	"time"
)

// Refused sign-ins are throttled per client address: each is recorded in
// the audit trail, so without a bound anyone who can reach the sign-in page
// could write records into the trail as fast as they can post.
const (
	// SignInLimit is how many refused sign-ins one client address may make
	// in SignInWindow; past it, its further attempts in the window are
	// turned away unchecked, and only the first of them is recorded.
	SignInLimit  = 20
	SignInWindow = time.Minute
	// maxTracked bounds the addresses tracked at once; past it, the
	// addresses not tracked share one allowance.
	maxTracked = 10_000
)

// throttle counts the refused sign-ins of each client address in fixed
// windows of SignInWindow.
type throttle struct {
	now    func() time.Time
	mu     sync.Mutex
	byAddr map[string]*attempts
}

// attempts are one address's refused sign-ins in its current window.
type attempts struct {
	start   time.Time
	refused int
	noted   bool // the first attempt turned away was recorded
}

func newThrottle(now func() time.Time) *throttle {
	return &throttle{now: now, byAddr: map[string]*attempts{}}
}

// clientAddr is the address sign-ins are counted by: the connection's
// peer. Behind a proxy every client shares the proxy's.
func clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// allow reports whether addr may try a sign-in now. When it may not, wait
// is how long until it may, and first is true for the first attempt turned
// away in the window, which the console records.
func (t *throttle) allow(addr string) (ok bool, wait time.Duration, first bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	a := t.current(addr)
	if a.refused < SignInLimit {
		return true, 0, false
	}
	first, a.noted = !a.noted, true
	return false, a.start.Add(SignInWindow).Sub(t.now()), first
}

// refused counts a refused sign-in from addr.
func (t *throttle) refused(addr string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.current(addr).refused++
}

// current is addr's window, a new one when the last has ended.
func (t *throttle) current(addr string) *attempts {
	now := t.now()
	a, ok := t.byAddr[addr]
	if !ok && len(t.byAddr) >= maxTracked {
		t.sweep(now)
		if len(t.byAddr) >= maxTracked {
			addr = "" // the shared allowance of the untracked
			a, ok = t.byAddr[addr]
		}
	}
	if !ok || !now.Before(a.start.Add(SignInWindow)) {
		a = &attempts{start: now}
		t.byAddr[addr] = a
	}
	return a
}

// sweep forgets the addresses whose window has ended.
func (t *throttle) sweep(now time.Time) {
	for addr, a := range t.byAddr {
		if !now.Before(a.start.Add(SignInWindow)) {
			delete(t.byAddr, addr)
		}
	}
}
