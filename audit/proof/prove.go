package proof

import (
	"context"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	mproof "github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"

	"github.com/privaudit/privaudit/audit"
	"github.com/privaudit/privaudit/queries"
)

// ProveOptions configure Prove.
type ProveOptions struct {
	Conn   driver.Conn
	Schema queries.Schema
	// ID is the record's event_id or consent_event_id.
	ID string
	// CheckpointSize picks the stored checkpoint of that tree size; 0 picks
	// the latest one covering the record.
	CheckpointSize uint64
	// VerifierKey, when set, must verify the proof's checkpoint signature
	// before the proof is returned.
	VerifierKey string
}

// prover holds one Prove's connection and statements.
type prover struct {
	o     ProveOptions
	sql   map[string]string
	nodes *TileReader
}

// Prove builds the inclusion proof of one stored record from the stored
// leaves, nodes (read through TileReader) and checkpoints, and returns
// the proof file once it verifies: a record altered since it was logged,
// or a tree whose stored nodes do not lead to the checkpoint's root, is
// refused.
func Prove(ctx context.Context, o ProveOptions) ([]byte, *audit.Verified, error) {
	pr := &prover{o: o, sql: map[string]string{}}
	var err error
	if pr.nodes, err = NewTileReader(o.Conn, o.Schema); err != nil {
		return nil, nil, err
	}
	for _, name := range []string{"prove_leaves", "prove_checkpoint_latest", "prove_checkpoint_at", "prove_event", "prove_consent"} {
		q, err := queries.Proof(name, o.Schema)
		if err != nil {
			return nil, nil, err
		}
		pr.sql[name] = q
	}
	p := &audit.InclusionProof{Format: audit.InclusionProofFormat}
	if err := pr.leaf(ctx, p); err != nil {
		return nil, nil, err
	}
	if err := pr.checkpoint(ctx, p); err != nil {
		return nil, nil, err
	}
	if err := pr.record(ctx, p); err != nil {
		return nil, nil, err
	}
	if err := pr.path(ctx, p); err != nil {
		return nil, nil, err
	}
	file, err := p.Encode()
	if err != nil {
		return nil, nil, err
	}
	var res *audit.Verified
	if o.VerifierKey != "" {
		res, err = audit.VerifyInclusionProof(file, o.VerifierKey)
	} else if parsed, perr := audit.ParseInclusionProof(file); perr != nil {
		err = perr
	} else {
		res, err = parsed.Check()
	}
	if err != nil {
		return nil, nil, fmt.Errorf("prove %s: the proof built from the stored log does not verify (%v); run privaudit verify", o.ID, err)
	}
	return file, res, nil
}

// leaf finds the record's single leaf, of either kind.
func (pr *prover) leaf(ctx context.Context, p *audit.InclusionProof) error {
	rs, err := pr.o.Conn.Query(ctx, pr.sql["prove_leaves"], clickhouse.Named("key", pr.o.ID))
	if err != nil {
		return fmt.Errorf("prove %s: read its leaf: %w", pr.o.ID, err)
	}
	defer rs.Close()
	n := 0
	for rs.Next() {
		var idx uint64
		var kind, hash string
		if err := rs.Scan(&idx, &kind, &hash); err != nil {
			return fmt.Errorf("prove %s: read its leaf: %w", pr.o.ID, err)
		}
		if n > 0 && audit.Kind(kind) != p.Kind {
			return fmt.Errorf("prove %s: the id names both an access event and a consent event; privaudit cannot tell which to prove", pr.o.ID)
		}
		p.LeafIndex, p.Kind, p.LeafHash = idx, audit.Kind(kind), hash
		n++
	}
	if err := rs.Err(); err != nil {
		return fmt.Errorf("prove %s: read its leaf: %w", pr.o.ID, err)
	}
	switch {
	case n == 0:
		return fmt.Errorf("prove %s: no record with this id is in the proof log: check the event_id or consent_event_id (a record just sent is logged once it is stored)", pr.o.ID)
	case n > 1:
		return fmt.Errorf("prove %s: the record has %d leaves in the proof log; run privaudit verify", pr.o.ID, n)
	}
	return nil
}

// checkpoint takes the stored checkpoint the proof is made for.
func (pr *prover) checkpoint(ctx context.Context, p *audit.InclusionProof) error {
	q, arg := pr.sql["prove_checkpoint_latest"], p.LeafIndex
	if pr.o.CheckpointSize > 0 {
		if pr.o.CheckpointSize <= p.LeafIndex {
			return fmt.Errorf("prove %s: its leaf index is %d, so a checkpoint of tree size %d does not cover it; pick a larger one, or leave the size out for the latest", pr.o.ID, p.LeafIndex, pr.o.CheckpointSize)
		}
		q, arg = pr.sql["prove_checkpoint_at"], pr.o.CheckpointSize
	}
	var note string
	err := pr.o.Conn.QueryRow(ctx, q, arg).Scan(&p.TreeSize, &note)
	switch {
	case errors.Is(err, sql.ErrNoRows) && pr.o.CheckpointSize > 0:
		return fmt.Errorf("prove %s: no stored checkpoint has tree size %d; leave the size out for the latest", pr.o.ID, pr.o.CheckpointSize)
	case errors.Is(err, sql.ErrNoRows):
		return fmt.Errorf("prove %s: no checkpoint covers its leaf %d yet: serve signs one every proof.checkpoint_interval while records arrive; try again then", pr.o.ID, p.LeafIndex)
	case err != nil:
		return fmt.Errorf("prove %s: read the checkpoint: %w", pr.o.ID, err)
	}
	p.Checkpoint = note
	return nil
}

// record reads the record's stored row raw, refusing one altered since it
// was logged.
func (pr *prover) record(ctx context.Context, p *audit.InclusionProof) error {
	q := pr.sql["prove_event"]
	if p.Kind == audit.KindConsents {
		q = pr.sql["prove_consent"]
	}
	rs, err := pr.o.Conn.Query(ctx, q, pr.o.ID)
	if err != nil {
		return fmt.Errorf("prove %s: read the record: %w", pr.o.ID, err)
	}
	defer rs.Close()
	n := 0
	var enc []byte
	for rs.Next() {
		n++
		if p.Kind == audit.KindConsents {
			p.Consent = &audit.StoredConsent{}
			err = rs.ScanStruct(p.Consent)
			enc = p.Consent.AppendLeaf(nil)
		} else {
			p.Event = &audit.StoredEvent{}
			err = rs.ScanStruct(p.Event)
			enc = p.Event.AppendLeaf(nil)
		}
		if err != nil {
			return fmt.Errorf("prove %s: read the record: %w", pr.o.ID, err)
		}
	}
	if err := rs.Err(); err != nil {
		return fmt.Errorf("prove %s: read the record: %w", pr.o.ID, err)
	}
	switch {
	case n == 0:
		return fmt.Errorf("prove %s: the record has leaf %d but no stored row: it was deleted, or dropped by retention; run privaudit verify", pr.o.ID, p.LeafIndex)
	case n > 1:
		return fmt.Errorf("prove %s: the record is stored %d times; run privaudit verify", pr.o.ID, n)
	case hex.EncodeToString(audit.LeafHash(enc)) != p.LeafHash:
		return fmt.Errorf("prove %s: the stored record was altered since it was logged (its leaf hash no longer matches leaf %d); run privaudit verify", pr.o.ID, p.LeafIndex)
	}
	return nil
}

// path reads the inclusion path's nodes from the stored tree.
func (pr *prover) path(ctx context.Context, p *audit.InclusionProof) error {
	nodes, err := mproof.Inclusion(p.LeafIndex, p.TreeSize)
	if err != nil {
		return fmt.Errorf("prove %s: %w", pr.o.ID, err)
	}
	hashes, err := pr.nodes.Nodes(ctx, nodes.IDs)
	if err != nil {
		return fmt.Errorf("prove %s: %w", pr.o.ID, err)
	}
	path, err := nodes.Rehash(hashes, rfc6962.DefaultHasher.HashChildren)
	if err != nil {
		return fmt.Errorf("prove %s: %w", pr.o.ID, err)
	}
	p.InclusionPath = make([]string, len(path))
	for i, h := range path {
		p.InclusionPath[i] = hex.EncodeToString(h)
	}
	return nil
}
