package ingest

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	mcompact "github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/rfc6962"

	"github.com/privaudit/privaudit/audit"
	"github.com/privaudit/privaudit/audit/proof"
	"github.com/privaudit/privaudit/queries"
)

// logLeaf is one record's leaf, ready to append.
type logLeaf struct {
	kind    audit.Kind
	key     string
	hash    []byte
	batchID string
	seq     uint64 // ingest_seq: the recovery order
}

// ProofLog appends every stored record to the proof log, one Merkle tree
// in ClickHouse (privaudit_meta.log_runs and log_nodes; see README,
// "Proof"). Both writers share one ProofLog, so leaf indexes are assigned
// in one order.
//
// Crash safety: a writer holds gate's read lock from before it inserts a
// batch until its leaves are appended, and a failure anywhere in between
// marks the log dirty. A dirty log appends nothing until it has recovered
// under gate's write lock, with no batch in flight: it reloads the tree's
// size and compact range from ClickHouse. The batch whose append failed is
// still in the spool, unacknowledged, and is replayed (after a crash, at
// the next start): the writer finds its records stored, and appends a
// leaf, read as stored, for each that has none (sealStored). So a stored
// record privaudit accepted never stays without its leaf, and none gets
// two: a writer appends only records it inserted itself, or replayed
// records found stored with no leaf. Records written into ClickHouse by
// anything else are never replayed, so they never get a leaf.
type ProofLog struct {
	conn driver.Conn
	log  *slog.Logger
	sql  struct {
		size, insRuns, insNodes          string
		unleavedEvents, unleavedConsents string
		unloggedEvents, unloggedConsents string
	}
	read *proof.TileReader
	gate sync.RWMutex
	mu   sync.Mutex
	rng  *mcompact.Range
	// dirty is set when the state in memory may differ from ClickHouse's.
	dirty bool
	cols  logColumns
	// afterInsert, when set (tests), runs after a batch is inserted and
	// before its leaves are appended; an error stops the writer there.
	afterInsert atomic.Pointer[func() error]
}

var rangeFactory = mcompact.RangeFactory{Hash: hashChildren}

// hashChildren is rfc6962.DefaultHasher.HashChildren with one allocation
// (the result) instead of three for two SHA-256 hashes.
func hashChildren(l, r []byte) []byte {
	if len(l) != sha256.Size || len(r) != sha256.Size {
		return rfc6962.DefaultHasher.HashChildren(l, r)
	}
	var b [1 + 2*sha256.Size]byte
	b[0] = rfc6962.RFC6962NodeHashPrefix
	copy(b[1:], l)
	copy(b[1+sha256.Size:], r)
	sum := sha256.Sum256(b[:])
	return sum[:]
}

// NewProofLog prepares the proof log; it loads its state on first use.
func NewProofLog(conn driver.Conn, s queries.Schema, log *slog.Logger) (*ProofLog, error) {
	l := &ProofLog{conn: conn, log: logger(log), dirty: true}
	for _, q := range []struct {
		dst  *string
		name string
	}{{&l.sql.size, "log_size"},
		{&l.sql.insRuns, "log_insert_runs"}, {&l.sql.insNodes, "log_insert_nodes"},
		{&l.sql.unleavedEvents, "log_unleaved_events"}, {&l.sql.unleavedConsents, "log_unleaved_consents"},
		{&l.sql.unloggedEvents, "log_unlogged_events"}, {&l.sql.unloggedConsents, "log_unlogged_consents"}} {
		var err error
		if *q.dst, err = queries.Ingest(q.name, s); err != nil {
			return nil, err
		}
	}
	var err error
	if l.read, err = proof.NewTileReader(conn, s); err != nil {
		return nil, err
	}
	return l, nil
}

// State returns the tree's size and root hash as this process knows them.
func (l *ProofLog) State() (uint64, []byte, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.dirty || l.rng == nil {
		return 0, nil, errors.New("proof log: state not loaded yet")
	}
	root, err := l.rng.GetRootHash(nil)
	return l.rng.End(), root, err
}

// Ready recovers a dirty log (see ProofLog); the writers call it before
// they write, so a start always recovers.
func (l *ProofLog) Ready(ctx context.Context) error {
	l.gate.Lock()
	defer l.gate.Unlock()
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.dirty {
		return nil
	}
	if err := l.recover(ctx); err != nil {
		l.dirty = true
		return fmt.Errorf("proof log: recover: %w", err)
	}
	return nil
}

// begin is called before a batch is inserted; the returned end must be
// called with the batch's outcome once its leaves are appended or it failed.
func (l *ProofLog) begin() (end func(err error)) {
	l.gate.RLock()
	return func(err error) {
		if err != nil {
			l.mu.Lock()
			l.dirty = true
			l.mu.Unlock()
		}
		l.gate.RUnlock()
	}
}

// append adds leaves to the tree: their nodes first, then the runs of leaves,
// which commit the append.
func (l *ProofLog) append(ctx context.Context, leaves []logLeaf) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.appendLocked(ctx, leaves)
}

func (l *ProofLog) appendLocked(ctx context.Context, leaves []logLeaf) error {
	if l.dirty {
		return errors.New("proof log: must recover first (the writer retries)")
	}
	if len(leaves) == 0 {
		return nil
	}
	rng, err := rangeFactory.NewRange(0, l.rng.End(), slices.Clone(l.rng.Hashes()))
	if err != nil {
		return err
	}
	start := rng.End()
	version := uint64(time.Now().UnixNano())
	var done []mcompact.NodeID
	var hashes [][]byte
	visit := func(id mcompact.NodeID, hash []byte) {
		if id.Level > 0 && proof.Stored(id.Level) {
			done, hashes = append(done, id), append(hashes, hash)
		}
	}
	for _, lf := range leaves {
		if err := rng.Append(lf.hash, visit); err != nil {
			return err
		}
	}
	// The range keeps some leaves' hashes, which share the writer's
	// scratch memory: it keeps copies instead.
	kept := make([][]byte, len(rng.Hashes()))
	for i, h := range rng.Hashes() {
		kept[i] = slices.Clone(h)
	}
	if rng, err = rangeFactory.NewRange(rng.Begin(), rng.End(), kept); err != nil {
		return err
	}
	if err := l.insertNodes(ctx, done, hashes, version); err != nil {
		return err
	}
	if err := l.insertLeaves(ctx, start, leaves); err != nil {
		l.dirty = true
		return err
	}
	l.rng = rng
	return nil
}

// logColumns is the proof log's scratch for one append's columns, reused
// from append to append under mu.
type logColumns struct {
	order          []int
	levels         []uint8
	index, version []uint64
	hashes, keys   []string
	hexed, raw     []byte
}

// hexAll returns the lowercase hex of each hash, as substrings of one
// string, in dst.
func (c *logColumns) hexAll(dst []string, n int, hash func(i int) []byte) []string {
	c.hexed = c.hexed[:0]
	for i := range n {
		c.hexed = hex.AppendEncode(c.hexed, hash(i))
	}
	all := string(c.hexed)
	dst, start := dst[:0], 0
	for i := range n {
		end := start + 2*len(hash(i))
		dst = append(dst, all[start:end])
		start = end
	}
	return dst
}

// insertNodes inserts the nodes done (with their hashes) at version,
// column by column, in the table's order so ClickHouse need not sort the
// block.
func (l *ProofLog) insertNodes(ctx context.Context, done []mcompact.NodeID, hashes [][]byte, version uint64) error {
	if len(done) == 0 {
		return nil
	}
	c := &l.cols
	c.order = c.order[:0]
	for i := range done {
		c.order = append(c.order, i)
	}
	slices.SortFunc(c.order, func(a, b int) int {
		return cmp.Or(cmp.Compare(done[a].Level, done[b].Level), cmp.Compare(done[a].Index, done[b].Index))
	})
	c.levels, c.index, c.version = c.levels[:0], c.index[:0], c.version[:0]
	for _, i := range c.order {
		c.levels, c.index, c.version = append(c.levels, uint8(done[i].Level)), append(c.index, done[i].Index), append(c.version, version)
	}
	c.hashes = c.hexAll(c.hashes, len(c.order), func(i int) []byte { return hashes[c.order[i]] })
	b, err := l.conn.PrepareBatch(ctx, l.sql.insNodes)
	if err != nil {
		return fmt.Errorf("proof log: prepare nodes: %w", err)
	}
	defer b.Close()
	for i, col := range []any{c.levels, c.index, c.hashes, c.version} {
		if err := b.Column(i).Append(col); err != nil {
			return fmt.Errorf("proof log: nodes column %d: %w", i, err)
		}
	}
	clear(c.hashes)
	if err := b.Send(); err != nil {
		return fmt.Errorf("proof log: insert nodes: %w", err)
	}
	return nil
}

// insertLeaves inserts the leaves from index start as runs: one row of
// log_runs per stretch of leaves of one kind and batch (a writer's
// batch is one; a recovery chunk may hold several).
func (l *ProofLog) insertLeaves(ctx context.Context, start uint64, leaves []logLeaf) error {
	ctx = clickhouse.Context(ctx, clickhouse.WithSettings(clickhouse.Settings{"insert_deduplicate": 0}))
	c := &l.cols
	c.raw = c.raw[:0]
	c.keys = c.keys[:0]
	for _, lf := range leaves {
		c.raw = append(c.raw, lf.hash...)
		c.keys = append(c.keys, lf.key)
	}
	all := string(c.raw)
	c.hashes = c.hashes[:0]
	for i := range leaves {
		c.hashes = append(c.hashes, all[i*sha256.Size:(i+1)*sha256.Size])
	}
	defer func() { clear(c.keys); clear(c.hashes) }()
	b, err := l.conn.PrepareBatch(ctx, l.sql.insRuns)
	if err != nil {
		return fmt.Errorf("proof log: prepare leaves: %w", err)
	}
	defer b.Close()
	now := time.Now()
	for lo := 0; lo < len(leaves); {
		hi := lo + 1
		for hi < len(leaves) && leaves[hi].kind == leaves[lo].kind && leaves[hi].batchID == leaves[lo].batchID {
			hi++
		}
		if err := b.Append(start+uint64(lo), uint32(hi-lo), string(leaves[lo].kind), leaves[lo].batchID, c.keys[lo:hi], c.hashes[lo:hi], now); err != nil {
			return fmt.Errorf("proof log: leaves from %d: %w", start+uint64(lo), err)
		}
		lo = hi
	}
	if err := b.Send(); err != nil {
		return fmt.Errorf("proof log: insert %d leaves: %w", len(leaves), err)
	}
	return nil
}

// recover loads the tree's size and compact range from ClickHouse, then
// appends the stored records that have no leaf.
func (l *ProofLog) recover(ctx context.Context) error {
	var count, size uint64
	if err := l.conn.QueryRow(ctx, l.sql.size).Scan(&count, &size); err != nil {
		return fmt.Errorf("read size: %w", err)
	}
	if count != size {
		return fmt.Errorf("log_runs holds %d leaves for indexes 0..%d: leaves are missing or repeated; run privaudit verify", count, int64(size)-1)
	}
	hashes, err := l.read.Nodes(ctx, mcompact.RangeNodes(0, size, nil))
	if err != nil {
		return err
	}
	rng, err := rangeFactory.NewRange(0, size, hashes)
	if err != nil {
		return err
	}
	l.rng, l.dirty = rng, false
	return nil
}
