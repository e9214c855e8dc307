package proof

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"slices"
	"time"
)

// The records pass has two ways. The digest pass (this file) checks, in
// one scan of each record table, that the stored records are exactly the
// logged ones: a keyed digest of the leaf hashes recomputed from the
// records must equal the same digest of the leaves. It cannot say which
// record differs, so when it finds a difference, or cannot tell (a period,
// a broken tree), verify compares record by record (verify_records.go),
// which names every finding. The digest pass recomputes the leaf hashes in
// Go (verify_scan.go), the record-by-record pass in SQL
// (queries/rules/*_leaf_hash.sql); tests hold both to audit's AppendLeaf.

// snapshot is the log as verify found it when it began: the leaf rows it
// checks are those with an index up to last.
type snapshot struct {
	rows, last uint64
}

func (v *verifier) snapshot(ctx context.Context) (snapshot, error) {
	var s snapshot
	q, err := v.sql("verify_size")
	if err != nil {
		return s, err
	}
	if err := v.o.Conn.QueryRow(ctx, q).Scan(&s.rows, &s.last); err != nil {
		return s, fmt.Errorf("verify: read the log's size: %w", err)
	}
	return s, nil
}

// digestKey is one run's digest key, 128 bits drawn at random: with it
// secret (it never leaves the verifying process), no one can choose records
// whose digest terms add up to the logged ones (a term is SHA-256 of the
// key and a leaf hash).
type digestKey [16]byte

func newDigestKey() digestKey {
	var k digestKey
	_, _ = rand.Read(k[:]) // crypto/rand.Read never returns an error
	return k
}

// keyed gives a leaf hash's terms in the digest (see termsOf) with k. A
// keyed is not safe for concurrent use.
type keyed struct {
	buf [len(digestKey{}) + sha256.Size]byte // the key, then room for a hash
}

func (k digestKey) keyed() *keyed {
	var t keyed
	copy(t.buf[:], k[:])
	return &t
}

// termsOf is a leaf hash's terms in the digest: the first and second 8
// bytes, little-endian, of SHA-256(key || hash).
func termsOf[T string | []byte](k *keyed, hash T) (uint64, uint64) {
	n := copy(k.buf[len(digestKey{}):], hash)
	sum := sha256.Sum256(k.buf[:len(digestKey{})+n])
	return binary.LittleEndian.Uint64(sum[0:8]), binary.LittleEndian.Uint64(sum[8:16])
}

// digest is a multiset digest: the count of its terms and the sums,
// modulo 2^64, of their first and second 8 bytes.
type digest struct{ n, d1, d2 uint64 }

func (d *digest) add(d1, d2 uint64) { d.n, d.d1, d.d2 = d.n+1, d.d1+d1, d.d2+d2 }

// merge adds o's terms to d.
func (d *digest) merge(o digest) { d.n, d.d1, d.d2 = d.n+o.n, d.d1+o.d1, d.d2+o.d2 }

// leafTally is what the tree pass gathers for the digest pass: the digest
// of the leaves that must have a stored record, the leaves sealed
// retention drops removed, every leaf's hash of record kind and key, and
// whether any leaf row was missing, repeated or malformed (then only the
// record-by-record pass can tell the rest).
type leafTally struct {
	logged   digest
	rows     uint64
	retained uint64
	keys     []uint64
	unique   bool // set by keysOnce
	faults   bool
}

// tally counts leaf l.
func (t *leafTally) tally(l *leafRow, retained leafRuns) {
	t.rows++
	if retained.covers(l.kind(), l.idx) {
		t.retained++
	} else {
		t.logged.add(l.d1, l.d2)
	}
	if t.keys != nil {
		t.keys = append(t.keys, l.key)
	}
}

// keysOnce reports whether no two leaves share a hash of record kind and
// key: the digest alone would not show a record copied with its leaf. A
// collision of two keys' hashes reads as a repeat, and the
// record-by-record pass, which compares keys, settles it. The tree pass
// calls it once it has read every leaf, while the records' digest is still
// being computed, and drops the keys; it sorts them.
func (t *leafTally) keysOnce() {
	slices.Sort(t.keys)
	t.unique = true
	for i := 1; i < len(t.keys) && t.unique; i++ {
		t.unique = t.keys[i] != t.keys[i-1]
	}
	t.keys = nil
}

// recordDigest is the digest of the stored records (see verify_scan.go).
type recordDigest struct {
	records digest
	later   uint64
}

// digestHolds reports whether the digest pass shows every stored record
// logged exactly once, as stored, and sets Records, Retained and Later
// when it does. Records of batches logged after the run began are left
// for the next run; records in no logged batch, even after RecheckAfter,
// make it fail.
func (v *verifier) digestHolds(ctx context.Context, t *leafTally, r recordDigest) (bool, error) {
	if t.faults || t.rows != v.snap.rows || r.records != t.logged || !t.unique {
		return false, nil
	}
	if r.later > 0 {
		unlogged, err := v.unlogged(ctx)
		if err != nil || unlogged > 0 {
			return false, err
		}
	}
	v.res.Records, v.res.Retained, v.res.Later, v.res.Digest = r.records.n, t.retained, r.later, true
	return true, nil
}

// unlogged counts the stored records whose batch has no leaf, after
// RecheckAfter: a running writer appends a batch's leaves just after
// storing it.
func (v *verifier) unlogged(ctx context.Context) (uint64, error) {
	if v.o.RecheckAfter > 0 {
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(v.o.RecheckAfter):
		}
	}
	q, err := v.sql("verify_unlogged")
	if err != nil {
		return 0, err
	}
	var n uint64
	if err := v.o.Conn.QueryRow(ctx, q).Scan(&n); err != nil {
		return 0, fmt.Errorf("verify: count records in no logged batch: %w", err)
	}
	return n, nil
}
