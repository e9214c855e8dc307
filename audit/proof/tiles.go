package proof

import (
	"context"
	"crypto/sha256"
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
// of it, about one row per 2^TileHeight leaves; level 0 is log_runs.
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

// Node returns the hash of the complete node id (level 0 is a leaf), as
// Nodes does.
func (r *TileReader) Node(ctx context.Context, id compact.NodeID) ([]byte, error) {
	hs, err := r.Nodes(ctx, []compact.NodeID{id})
	if err != nil {
		return nil, err
	}
	return hs[0], nil
}

// tileSpan is where a node's hash is computed from: the stored hashes
// [begin, end) of the tile level base at or below it.
type tileSpan struct {
	base       uint
	begin, end uint64
}

func spanOf(id compact.NodeID) tileSpan {
	base := id.Level - id.Level%TileHeight
	begin := id.Index << (id.Level - base)
	return tileSpan{base: base, begin: begin, end: begin + 1<<(id.Level-base)}
}

// tile is the tile a span lies in: at level base, the 2^TileHeight
// stored hashes from index first.
type tile struct {
	base  uint
	first uint64
}

// Nodes returns the hashes of the complete nodes ids (level 0 is a leaf),
// in order, computed from the stored hashes of the tile level at or below
// each. It reads each tile the nodes fall in once, with one query (an
// inclusion path's nodes below level TileHeight all lie in one tile, and
// at 10M leaves each read of leaves takes seconds). A stored hash a node
// needs that is missing, or a leaf stored twice, is an error naming it.
func (r *TileReader) Nodes(ctx context.Context, ids []compact.NodeID) ([][]byte, error) {
	byTile := map[tile][]int{}
	var tiles []tile
	for i, id := range ids {
		sp := spanOf(id)
		t := tile{sp.base, sp.begin &^ (1<<TileHeight - 1)}
		if byTile[t] == nil {
			tiles = append(tiles, t)
		}
		byTile[t] = append(byTile[t], i)
	}
	out := make([][]byte, len(ids))
	for _, t := range tiles {
		if err := r.tileNodes(ctx, t, ids, byTile[t], out); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// tileNodes computes the nodes ids[which], all of tile t, into out from
// one read of the stored hashes they span.
func (r *TileReader) tileNodes(ctx context.Context, t tile, ids []compact.NodeID, which []int, out [][]byte) error {
	lo, hi := ^uint64(0), uint64(0)
	for _, i := range which {
		sp := spanOf(ids[i])
		lo, hi = min(lo, sp.begin), max(hi, sp.end)
	}
	stored, err := r.read(ctx, t.base, lo, hi)
	if err != nil {
		return fmt.Errorf("read node %d/%d: %w", ids[which[0]].Level, ids[which[0]].Index, err)
	}
	for _, i := range which {
		id, sp := ids[i], spanOf(ids[i])
		hashes := make([][]byte, 0, sp.end-sp.begin)
		for idx := sp.begin; idx < sp.end; idx++ {
			h := stored[idx-lo]
			switch {
			case h.rows == 0:
				return fmt.Errorf("node %d/%d of the proof log: stored node %d/%d is missing; run privaudit verify", id.Level, id.Index, t.base, idx)
			case t.base == 0 && h.rows > 1:
				return fmt.Errorf("node %d/%d of the proof log: stored node %d/%d is repeated; run privaudit verify", id.Level, id.Index, t.base, idx)
			case len(h.hash) != sha256.Size:
				return fmt.Errorf("node %d/%d of the proof log: stored hash %q of node %d/%d is not 32 hex bytes; run privaudit verify", id.Level, id.Index, h.hex, t.base, idx)
			}
			hashes = append(hashes, h.hash)
		}
		for len(hashes) > 1 {
			for j := range len(hashes) / 2 {
				hashes[j] = rfc6962.DefaultHasher.HashChildren(hashes[2*j], hashes[2*j+1])
			}
			hashes = hashes[:len(hashes)/2]
		}
		out[i] = hashes[0]
	}
	return nil
}

// storedHash is one index of a tile level as read: its rows (a leaf's, or
// a node's versions) and the hash read (hex, and decoded when well formed).
type storedHash struct {
	rows uint64
	hex  string
	hash []byte
}

// read reads the stored hashes of level base, indexes [lo, hi), into a
// slice indexed from lo.
func (r *TileReader) read(ctx context.Context, base uint, lo, hi uint64) ([]storedHash, error) {
	var rs driver.Rows
	var err error
	if base == 0 {
		rs, err = r.conn.Query(ctx, r.leaves, clickhouse.Named("begin", lo), clickhouse.Named("end", hi))
	} else {
		rs, err = r.conn.Query(ctx, r.nodes, uint8(base), lo, hi)
	}
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	stored := make([]storedHash, hi-lo)
	for rs.Next() {
		var idx, n uint64
		var s string
		if err := rs.Scan(&idx, &n, &s); err != nil {
			return nil, err
		}
		if idx < lo || idx >= hi {
			continue
		}
		h := &stored[idx-lo]
		h.rows, h.hex = n, s
		if b, err := hex.DecodeString(s); err == nil {
			h.hash = b
		}
	}
	return stored, rs.Err()
}
