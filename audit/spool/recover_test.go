package spool

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestReopenReplaysUnacked(t *testing.T) {
	dir := t.TempDir()
	s := openT(t, dir, Options{SegmentBytes: 4096})
	appendN(t, s, 1, 10, 700)
	checkEntries(t, readAll(t, s), 1, 10, 700)
	if err := s.Ack(4); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = openT(t, dir, Options{SegmentBytes: 4096})
	st := s.Stats()
	if st.PendingEntries != 6 || st.RecoveredEntries != 6 || st.AckedSeq != 4 || st.LastSeq != 10 ||
		st.PendingBytes != 6*720 || st.TornBytes != 0 {
		t.Fatalf("reopened stats: %+v", st)
	}
	checkEntries(t, readAll(t, s), 5, 10, 700)
	appendN(t, s, 11, 2, 700)
	checkEntries(t, readAll(t, s), 11, 12, 700)
	s.Close()

	// Without acking, everything unacked is replayed again.
	s = openT(t, dir, Options{SegmentBytes: 4096})
	checkEntries(t, readAll(t, s), 5, 12, 700)
}

func TestReopenWithoutAckFile(t *testing.T) {
	dir := t.TempDir()
	s := openT(t, dir, Options{})
	appendN(t, s, 1, 3, 10)
	s.Close()
	if err := os.Remove(filepath.Join(dir, ackFileName)); err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	s = openT(t, dir, Options{})
	checkEntries(t, readAll(t, s), 1, 3, 10)
}

func TestDamagedAckFileReplays(t *testing.T) {
	dir := t.TempDir()
	s := openT(t, dir, Options{})
	appendN(t, s, 1, 3, 10)
	readAll(t, s)
	if err := s.Ack(2); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if err := os.WriteFile(filepath.Join(dir, ackFileName), []byte("garbage"), 0o640); err != nil {
		t.Fatal(err)
	}
	s = openT(t, dir, Options{})
	checkEntries(t, readAll(t, s), 1, 3, 10) // replaying is harmless
}

// lastSegment returns the path and size of the newest segment file.
func lastSegment(t *testing.T, dir string) (string, int64) {
	t.Helper()
	files := segmentFiles(t, dir)
	fi, err := os.Stat(files[len(files)-1])
	if err != nil {
		t.Fatal(err)
	}
	return files[len(files)-1], fi.Size()
}

func flipByte(t *testing.T, path string, off int64) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b := make([]byte, 1)
	if _, err := f.ReadAt(b, off); err != nil {
		t.Fatal(err)
	}
	b[0] ^= 0x40
	if _, err := f.WriteAt(b, off); err != nil {
		t.Fatal(err)
	}
}

func TestTornTail(t *testing.T) {
	const size = 300 // entries are 320 bytes on disk
	cases := []struct {
		name   string
		damage func(t *testing.T, path string, n int64)
	}{
		{"truncated mid-payload", func(t *testing.T, path string, n int64) { os.Truncate(path, n-100) }},
		{"truncated mid-header", func(t *testing.T, path string, n int64) { os.Truncate(path, n-320+7) }},
		{"flipped payload byte", func(t *testing.T, path string, n int64) { flipByte(t, path, n-5) }},
		{"flipped length byte", func(t *testing.T, path string, n int64) { flipByte(t, path, n-320+1) }},
		{"garbage appended", func(t *testing.T, path string, n int64) {
			f, _ := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
			f.Write(make([]byte, 333))
			f.Close()
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			s := openT(t, dir, Options{})
			appendN(t, s, 1, 10, size)
			s.Close()
			path, n := lastSegment(t, dir)
			tc.damage(t, path, n)

			s = openT(t, dir, Options{})
			want := 9
			if tc.name == "garbage appended" {
				want = 10
			}
			if st := s.Stats(); st.TornBytes == 0 || st.PendingEntries != int64(want) {
				t.Fatalf("stats: %+v", st)
			}
			checkEntries(t, readAll(t, s), 1, want, size)
			appendN(t, s, want+1, 3, size)
			checkEntries(t, readAll(t, s), want+1, want+3, size)
			s.Close()

			s = openT(t, dir, Options{})
			if st := s.Stats(); st.TornBytes != 0 {
				t.Fatalf("second reopen found a torn tail again: %+v", st)
			}
			checkEntries(t, readAll(t, s), 1, want+3, size)
		})
	}
}

func TestTornNewSegment(t *testing.T) {
	for _, n := range []int{0, 5} { // crash right after creating the next segment
		dir := t.TempDir()
		s := openT(t, dir, Options{})
		appendN(t, s, 1, 3, 10)
		s.Close()
		path := filepath.Join(dir, segmentName(4))
		if err := os.WriteFile(path, segHeader(4)[:n], 0o640); err != nil {
			t.Fatal(err)
		}
		s = openT(t, dir, Options{})
		checkEntries(t, readAll(t, s), 1, 3, 10)
		appendN(t, s, 4, 2, 10)
		checkEntries(t, readAll(t, s), 4, 5, 10)
		if fi, err := os.Stat(path); err != nil || fi.Size() != segHeaderSize+2*30 {
			t.Fatalf("new segment: %v %v", fi, err)
		}
	}
}

func TestCorruptSealedSegment(t *testing.T) {
	dir := t.TempDir()
	opts := Options{SegmentBytes: 4096}
	s := openT(t, dir, opts)
	appendN(t, s, 1, 20, 1000)
	s.Close()
	files := segmentFiles(t, dir)
	flipByte(t, files[1], segHeaderSize+1020+500) // second entry of the second segment

	opts.Dir = dir
	opts.Logger = testLogger(t)
	if _, err := Open(context.Background(), opts); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("Open with a corrupt sealed segment: %v, want ErrCorrupt", err)
	}

	// The operator moves the damaged file away; the rest is delivered.
	if err := os.Rename(files[1], filepath.Join(t.TempDir(), "damaged")); err != nil {
		t.Fatal(err)
	}
	s = openT(t, dir, opts)
	es := readAll(t, s)
	first, _ := parseSegmentName(filepath.Base(files[2]))
	checkEntries(t, es[:4], 1, 4, 1000)
	checkEntries(t, es[4:], int(first), 20, 1000)
	if err := s.Ack(20); err != nil {
		t.Fatal(err)
	}
	if st := s.Stats(); st.PendingEntries != 0 || st.PendingBytes != 0 || st.UnreadEntries != 0 {
		t.Fatalf("stats: %+v", st)
	}
}

func TestAckedSegmentsLeftByCrashAreDeleted(t *testing.T) {
	dir := t.TempDir()
	opts := Options{SegmentBytes: 4096}
	s := openT(t, dir, opts)
	appendN(t, s, 1, 20, 1000)
	readAll(t, s)
	if err := s.Ack(20); err != nil {
		t.Fatal(err)
	}
	s.Close()
	// Simulate a crash between writing the ack file and deleting segments:
	// put an acknowledged segment back.
	old := filepath.Join(dir, segmentName(1))
	if err := os.WriteFile(old, segHeader(1), 0o640); err != nil {
		t.Fatal(err)
	}
	s = openT(t, dir, opts)
	if _, err := os.Stat(old); !os.IsNotExist(err) {
		t.Fatalf("acknowledged segment not deleted: %v", err)
	}
	if st := s.Stats(); st.PendingEntries != 0 || st.Segments != 1 {
		t.Fatalf("stats: %+v", st)
	}
	appendN(t, s, 21, 1, 10)
}

func TestAckPastLastEntry(t *testing.T) {
	dir := t.TempDir()
	s := openT(t, dir, Options{})
	appendN(t, s, 1, 3, 10)
	s.Close()
	if err := writeAckFile(dir, 100, true); err != nil { // e.g. restored from elsewhere
		t.Fatal(err)
	}
	s = openT(t, dir, Options{})
	if st := s.Stats(); st.AckedSeq != 100 || st.PendingEntries != 0 || st.Segments != 1 || st.LastSeq != 100 {
		t.Fatalf("stats: %+v", st)
	}
	if files := segmentFiles(t, dir); len(files) != 1 || filepath.Base(files[0]) != segmentName(101) {
		t.Fatalf("segments: %v", files)
	}
	seq, err := s.Append(context.Background(), []byte("x"), 1)
	if err != nil || seq != 101 {
		t.Fatalf("Append: %d %v, want seq 101", seq, err)
	}
	es := readAll(t, s)
	if len(es) != 1 || es[0].Seq != 101 {
		t.Fatalf("read %v", es)
	}
}
