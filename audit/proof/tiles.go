package proof

import (
	"context"
	"encoding/hex"
	"fmt"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/rfc6962"

	"github.com/privaudit/privaudit/queries"
)

// TileHeight is the height of the proof log's tiles (as in C2SP
// tlog-tiles): log_nodes stores only the nodes whose level is a multiple
// of it, about one row per 2^TileHeight leaves; level 0 is log_leaf_runs.
// Any other node is computed from the at most 2^(TileHeight-1) stored
// hashes of the tile level below it.
//
// A log written when log_nodes stored every interior node still holds
// every node of the tile levels, so it is read the same way and needs no
// migration; its other rows are never read.
const TileHeight = 8

// Stored reports whether log_nodes stores the interior nodes of level.
func Stored(level uint) bool { return level%TileHeight == 0 }

// TileReader reads nodes of the stored proof log: the writer's recovery
// and Prove read every node through it.
type TileReader struct {
	conn          driver.Conn
	leaves, nodes string
}

// NewTileReader prepares a TileReader.
func NewTileReader(conn driver.Conn, s queries.Schema) (*TileReader, error) {
	r := &TileReader{conn: conn}
	var err error
	if r.leaves, err = queries.Proof("tile_leaves", s); err != nil {
		return nil, err
	}
	if r.nodes, err = queries.Proof("tile_nodes", s); err != nil {
		return nil, err
	}
	return r, nil
}

// Node returns the hash of the complete node id (level 0 is a leaf), read
// from the stored hashes of the tile level at or below it with one query:
// a missing or repeated stored hash is an error.
func (r *TileReader) Node(ctx context.Context, id compact.NodeID) ([]byte, error) {
	base := id.Level - id.Level%TileHeight
	shift := id.Level - base
	begin := id.Index << shift
	end := begin + 1<<shift
	var rs driver.Rows
	var err error
	if base == 0 {
		rs, err = r.conn.Query(ctx, r.leaves, clickhouse.Named("begin", begin), clickhouse.Named("end", end))
	} else {
		rs, err = r.conn.Query(ctx, r.nodes, uint8(base), begin, end)
	}
	if err != nil {
		return nil, fmt.Errorf("read node %d/%d: %w", id.Level, id.Index, err)
	}
	defer rs.Close()
	hashes := make([][]byte, 0, end-begin)
	for rs.Next() {
		var idx, n uint64
		var s string
		if err := rs.Scan(&idx, &n, &s); err != nil {
			return nil, fmt.Errorf("read node %d/%d: %w", id.Level, id.Index, err)
		}
		next := begin + uint64(len(hashes))
		if idx != next || (base == 0 && n > 1) {
			return nil, fmt.Errorf("node %d/%d of the proof log: stored node %d/%d is %s; run privaudit verify", id.Level, id.Index, base, next, missingOrRepeated(idx, next))
		}
		h, err := hex.DecodeString(s)
		if err != nil || len(h) != 32 {
			return nil, fmt.Errorf("node %d/%d of the proof log: stored hash %q of node %d/%d is not 32 hex bytes; run privaudit verify", id.Level, id.Index, s, base, idx)
		}
		hashes = append(hashes, h)
	}
	if err := rs.Err(); err != nil {
		return nil, fmt.Errorf("read node %d/%d: %w", id.Level, id.Index, err)
	}
	if next := begin + uint64(len(hashes)); next != end {
		return nil, fmt.Errorf("node %d/%d of the proof log: stored node %d/%d is missing; run privaudit verify", id.Level, id.Index, base, next)
	}
	for len(hashes) > 1 {
		for i := range len(hashes) / 2 {
			hashes[i] = rfc6962.DefaultHasher.HashChildren(hashes[2*i], hashes[2*i+1])
		}
		hashes = hashes[:len(hashes)/2]
	}
	return hashes[0], nil
}

// missingOrRepeated names what is wrong with stored node next when the
// stored rows continue at idx.
func missingOrRepeated(idx, next uint64) string {
	if idx == next {
		return "repeated"
	}
	return "missing"
}
