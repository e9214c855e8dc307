package spool

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkAppendParallel measures fsync'ed append throughput with
// concurrent appenders while a consumer reads and acknowledges, as the
// ClickHouse writer does. MB/s is payload bytes; appends/fsync shows the
// group commit at work. Compare with BenchmarkDiskBaseline.
func BenchmarkAppendParallel(b *testing.B) {
	for _, bc := range []struct {
		size, writers int
		noSync        bool
	}{
		{256 << 10, 8, false},
		{256 << 10, 8, true},
		{4 << 10, 64, false},
		{512, 256, false},
	} {
		name := fmt.Sprintf("payload=%dKiB/writers=%d", bc.size>>10, bc.writers)
		if bc.size < 1<<10 {
			name = fmt.Sprintf("payload=%dB/writers=%d", bc.size, bc.writers)
		}
		if bc.noSync {
			name += "/nosync"
		}
		b.Run(name, func(b *testing.B) { benchAppend(b, bc.size, bc.writers, bc.noSync) })
	}
}

func benchAppend(b *testing.B, size, writers int, noSync bool) {
	s := openT(b, b.TempDir(), Options{
		MaxBytes: 1 << 30, NoSync: noSync, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	consumed := make(chan struct{})
	go func() { // the writer: read, "insert", acknowledge
		defer close(consumed)
		for {
			es, err := s.NextWait(ctx, 0, 0, 10*time.Millisecond)
			if err != nil {
				return
			}
			if err := s.Ack(es[len(es)-1].Seq); err != nil {
				b.Error(err)
				return
			}
		}
	}()
	payload := make([]byte, size)
	for i := range payload {
		payload[i] = byte(rand.Uint32())
	}
	b.SetBytes(int64(size))
	b.ResetTimer()
	var next atomic.Int64
	var wg sync.WaitGroup
	for range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(b.N) {
				_, err := s.Append(ctx, payload, 1)
				for errors.Is(err, ErrFull) {
					time.Sleep(100 * time.Microsecond)
					_, err = s.Append(ctx, payload, 1)
				}
				if err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	b.StopTimer()
	st := s.Stats()
	if !noSync {
		b.ReportMetric(float64(st.AppendedTotal)/float64(max(st.CommitsTotal, 1)), "appends/fsync")
	}
	cancel()
	<-consumed
}

// BenchmarkDiskBaseline writes chunks and fsyncs after each, sequentially,
// into 64 MiB files deleted when full, as the spool does when its consumer
// keeps up: what the disk gives one writer at that fsync granularity (2 MiB
// is one round of 8 × 256 KiB), to compare BenchmarkAppendParallel with.
func BenchmarkDiskBaseline(b *testing.B) {
	for _, chunk := range []int{1 << 20, 2 << 20} {
		b.Run(fmt.Sprintf("chunk=%dMiB", chunk>>20), func(b *testing.B) { diskBaseline(b, chunk) })
	}
}

func diskBaseline(b *testing.B, chunk int) {
	dir := b.TempDir()
	buf := make([]byte, chunk)
	for i := range buf {
		buf[i] = byte(rand.Uint32())
	}
	var f *os.File
	var off int64
	b.SetBytes(int64(len(buf)))
	for b.Loop() {
		if f == nil || off >= DefaultSegmentBytes {
			if f != nil {
				f.Close()
				os.Remove(f.Name())
			}
			var err error
			if f, err = os.Create(filepath.Join(dir, fmt.Sprint(b.N, off))); err != nil {
				b.Fatal(err)
			}
			off = 0
		}
		if _, err := f.WriteAt(buf, off); err != nil {
			b.Fatal(err)
		}
		if err := f.Sync(); err != nil {
			b.Fatal(err)
		}
		off += int64(len(buf))
	}
	f.Close()
}
