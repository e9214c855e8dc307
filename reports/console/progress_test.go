package console

import (
	"strings"
	"testing"
	"time"
)

// TestJobs: a download's progress is seen only by its session, a malformed
// id is not kept, an ended job keeps its state for jobTTL and is then
// forgotten, and an aborted one (end not told ok) is failed.
func TestJobs(t *testing.T) {
	now := time.Date(2026, 10, 1, 9, 0, 0, 0, time.UTC)
	js := newJobs(func() time.Time { return now })
	id := strings.Repeat("ab", 16)
	if _, _, ok := js.start("s1", "../x"); ok {
		t.Fatal("a malformed job id was accepted")
	}
	progress, end, ok := js.start("s1", id)
	if !ok {
		t.Fatal("a well-formed job id was refused")
	}
	progress(100000)
	if j := js.get("s1", id); j.State != jobRunning || j.Rows != 100000 {
		t.Errorf("running job: %+v", j)
	}
	if j := js.get("s2", id); j.State != jobUnknown || j.Rows != 0 {
		t.Errorf("another session sees the job: %+v", j)
	}
	end(true)
	if j := js.get("s1", id); j.State != jobDone {
		t.Errorf("ended job: %+v", j)
	}
	_, end2, _ := js.start("s1", strings.Repeat("cd", 16))
	end2(false)
	if j := js.get("s1", strings.Repeat("cd", 16)); j.State != jobFailed {
		t.Errorf("aborted job: %+v", j)
	}
	now = now.Add(jobTTL + time.Second)
	js.start("s1", strings.Repeat("ef", 16)) // sweeps
	if j := js.get("s1", id); j.State != jobUnknown {
		t.Errorf("a job ended longer than %s ago is still kept: %+v", jobTTL, j)
	}
}
