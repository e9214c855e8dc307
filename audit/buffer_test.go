package audit

import (
	"bytes"
	"fmt"
	"io"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"testing/iotest"
)

// sameResult fails unless a Buffer's decode (b, berr) equals the plain
// one's (want, err).
func sameResult[T any](t *testing.T, want []T, err error, got []T, berr error) {
	t.Helper()
	if (err == nil) != (berr == nil) || (err != nil && err.Error() != berr.Error()) {
		t.Fatalf("Buffer decode error %v, DecodeX error %v", berr, err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Buffer decoded\n%+v\nDecodeX decoded\n%+v", got, want)
	}
}

// TestBufferReuse decodes inputs of growing and shrinking sizes, NDJSON and
// arrays, valid and not, through one Buffer: each result equals a fresh
// decode's, and an error stays intact after the Buffer is reused.
func TestBufferReuse(t *testing.T) {
	line := evLine()
	ndjson := func(n int) string {
		var b strings.Builder
		for i := range n {
			b.WriteString(evLine("event_id", fmt.Sprintf(`"%08x-5b4a-4938-8271-605f4e3d2c1b"`, i),
				"attributes", fmt.Sprintf(`{"case":"n\u00e9 %d"}`, i)))
			b.WriteByte('\n')
		}
		return b.String()
	}
	inputs := []string{
		ndjson(3), ndjson(500), ndjson(1), "[" + line + "," + line + "]", "", ndjson(2000),
		line + "\n{\"event_id\":\"nope\"}\n", ndjson(10),
	}
	var buf Buffer
	var keptErr error
	var keptMsg string
	for i, in := range inputs {
		want, err := DecodeEvents(strings.NewReader(in), decOpts)
		r := iotestReader(i, in) // every other reader gives no size hint
		got, berr := buf.DecodeEvents(r, decOpts)
		sameResult(t, want, err, got, berr)
		if strings.Contains(in, "n\\u00e9") && (err != nil || len(got) == 0) {
			t.Fatalf("input %d: generated records rejected: %v", i, err)
		}
		if berr != nil && keptErr == nil {
			keptErr, keptMsg = berr, berr.Error()
		}
	}
	if keptErr == nil {
		t.Fatal("no input was rejected")
	}
	if keptErr.Error() != keptMsg {
		t.Fatalf("error changed after the Buffer was reused: %q, was %q", keptErr.Error(), keptMsg)
	}
	cs, err := DecodeConsents(strings.NewReader(coLine()), decOpts)
	bcs, berr := buf.DecodeConsents(strings.NewReader(coLine()), decOpts)
	sameResult(t, cs, err, bcs, berr)
	if len(bcs) != 1 {
		t.Fatalf("%d consents", len(bcs))
	}
}

func iotestReader(i int, s string) interface{ Read([]byte) (int, error) } {
	if i%2 == 0 {
		return bytes.NewReader([]byte(s)) // has Len
	}
	return iotest.HalfReader(strings.NewReader(s))
}

// TestBufferHostileInputSize decodes 1 MiB of blank lines and of empty
// objects into a Buffer already holding room for the input: what decoding
// allocates besides stays under twice the input (records are sized by what
// valid ones need), so a body of the size limit cannot make the server
// allocate many times more.
func TestBufferHostileInputSize(t *testing.T) {
	for _, unit := range []string{"\n", "{}\n"} {
		in := strings.Repeat(unit, (1<<20)/len(unit))
		for _, kind := range []string{"events", "consents"} {
			var b Buffer
			b.Grow(len(in))
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			var err error
			if kind == "events" {
				_, err = b.DecodeEvents(strings.NewReader(in), decOpts)
			} else {
				_, err = b.DecodeConsents(strings.NewReader(in), decOpts)
			}
			runtime.ReadMemStats(&after)
			if unit != "\n" && err == nil {
				t.Fatalf("%s of %q accepted", kind, unit)
			}
			if n := after.TotalAlloc - before.TotalAlloc; n > uint64(2*len(in)) {
				t.Errorf("%s: decoding 1 MiB of %q allocated %d bytes, over twice the input", kind, unit, n)
			}
		}
	}
}

// limitedReader is a reader of unknown length (no Len) under a limit.
type limitedReader struct {
	io.Reader
	max int
}

func (r limitedReader) MaxLen() int { return r.max }

// TestBufferReadStopsAtLimit reads a body of unknown length that fills its
// limit: the Buffer's copy grows to about the limit, not to the next power
// of two (a 3 MiB limit held 4 MiB before).
func TestBufferReadStopsAtLimit(t *testing.T) {
	const limit = 3 << 20
	in := strings.Repeat("\n", limit)
	var b Buffer
	if _, err := b.DecodeEvents(limitedReader{strings.NewReader(in), limit}, decOpts); err != nil {
		t.Fatal(err)
	}
	if c := cap(b.src); c > limit+64<<10 {
		t.Fatalf("reading %d bytes under a limit of %d grew the buffer to %d", len(in), limit, c)
	}
}
