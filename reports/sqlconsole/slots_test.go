package sqlconsole

import (
	"testing"

	"github.com/privaudit/privaudit/audit/apierr"
)

// TestSlots: one token gets at most perToken slots (429), all tokens together
// at most total (503), both with Retry-After; a release frees its slot once.
func TestSlots(t *testing.T) {
	s := newSlots(3, 2)
	a1, err1 := s.acquire("a")
	_, err2 := s.acquire("a")
	if err1 != nil || err2 != nil {
		t.Fatal(err1, err2)
	}
	refused := func(token, code string) {
		t.Helper()
		_, err := s.acquire(token)
		e, ok := err.(*apierr.Error)
		if !ok || e.Code != code || e.RetryAfter <= 0 {
			t.Fatalf("acquire(%s): %v, want %s with Retry-After", token, err, code)
		}
	}
	refused("a", apierr.TooMany)
	b1, err := s.acquire("b")
	if err != nil {
		t.Fatal(err)
	}
	refused("c", apierr.Unavailable)
	a1()
	a1() // a second release must not free a second slot
	if _, err := s.acquire("c"); err != nil {
		t.Fatal(err)
	}
	refused("c", apierr.Unavailable)
	b1()
	if _, err := s.acquire("a"); err != nil {
		t.Fatal(err)
	}
	refused("a", apierr.TooMany)
}
