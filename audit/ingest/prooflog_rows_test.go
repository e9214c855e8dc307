package ingest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"log/slog"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/transparency-dev/merkle/rfc6962"

	"github.com/privaudit/privaudit/audit"
	"github.com/privaudit/privaudit/audit/chserver"
	"github.com/privaudit/privaudit/audit/store"
	"github.com/privaudit/privaudit/audit/synth"
	"github.com/privaudit/privaudit/queries"
)

// BenchmarkLogLeaves times the leaves' encoding and hashing of one batch
// of generated events (eventRows.logLeaves), with no ClickHouse.
func BenchmarkLogLeaves(b *testing.B) {
	const n = 20_000
	var wire, consents bytes.Buffer
	if _, err := synth.Generate(context.Background(), synth.Options{Seed: 1, Customers: n / 20, Events: n, Now: time.Now().UTC()}, &wire, &consents); err != nil {
		b.Fatal(err)
	}
	evs, err := audit.DecodeEvents(&wire, audit.DecodeOptions{})
	if err != nil {
		b.Fatal(err)
	}
	r := &eventRows{}
	if err := r.add(payload{seq: 1, records: audit.EncodeEvents(nil, evs)}); err != nil {
		b.Fatal(err)
	}
	r.prepare("bench-batch")
	b.ReportAllocs()
	for b.Loop() {
		if leaves := r.logLeaves(); len(leaves) != len(evs) {
			b.Fatalf("%d leaves, want %d", len(leaves), len(evs))
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(evs)), "ns/event")
}

// TestHashChildrenIsRFC6962: hashChildren hashes as rfc6962's does.
func TestHashChildrenIsRFC6962(t *testing.T) {
	l, r := sha256.Sum256([]byte("left")), sha256.Sum256([]byte("right"))
	for _, c := range [][2][]byte{{l[:], r[:]}, {r[:], l[:]}, {l[:], l[:]}, {[]byte("short"), r[:]}} {
		if got, want := hashChildren(c[0], c[1]), rfc6962.DefaultHasher.HashChildren(c[0], c[1]); !bytes.Equal(got, want) {
			t.Errorf("hashChildren(%x, %x) = %x, want %x", c[0], c[1], got, want)
		}
	}
}

// TestProofLogCopiesScratchHashes: leaves whose hashes share one scratch
// buffer, refilled before each append as a writer's rows buffer is, grow
// the tree of an in-memory rfc6962 range: the proof log keeps no hash of
// the scratch across appends.
func TestProofLogCopiesScratchHashes(t *testing.T) {
	ctx := context.Background()
	log := slog.New(slog.DiscardHandler)
	ch, err := chserver.Start(ctx, chserver.Options{Dir: filepath.Join(t.TempDir(), "clickhouse"), Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	defer ch.Stop(context.Background())
	conn, err := store.Open(ctx, store.Options{Addrs: []string{ch.Addr}, User: ch.AdminUser, Password: ch.AdminPassword, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := store.Migrate(ctx, conn, queries.DefaultSchema, log); err != nil {
		t.Fatal(err)
	}
	l, err := NewProofLog(conn, queries.DefaultSchema, log)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Ready(ctx); err != nil {
		t.Fatal(err)
	}
	want := rangeFactory.NewEmptyRange(0)
	var s leafScratch
	n := 0
	for _, size := range []int{2, 1, 1, 3, 1, 5, 255, 1} {
		s.reset(size)
		for range size {
			sum := sha256.Sum256([]byte(strconv.Itoa(n)))
			s.add(logLeaf{kind: audit.KindEvents, key: strconv.Itoa(n), batchID: "b"}, sum)
			if err := want.Append(sum[:], nil); err != nil {
				t.Fatal(err)
			}
			n++
		}
		if err := l.append(ctx, s.leaves); err != nil {
			t.Fatal(err)
		}
		root, _ := want.GetRootHash(nil)
		if size, got, err := l.State(); err != nil || size != uint64(n) || !bytes.Equal(got, root) {
			t.Fatalf("after %d leaves: size %d root %x (%v), want %x", n, size, got, err, root)
		}
	}
}
