// Package proof verifies the proof log against the stored records and
// proves one record's inclusion in it.
//
// The log (see audit.StoredEvent for a leaf's encoding) is an RFC 6962
// Merkle tree of every stored record in ingest order, kept in
// privaudit_meta and signed by checkpoints (audit.OpenCheckpoint).
package proof
