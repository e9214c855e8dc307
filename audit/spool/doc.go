// Package spool is privaudit's durable, group-committed write-ahead spool:
// the buffer between the HTTP ingest handlers, which must not acknowledge a
// request before its records are safe on disk, and the background writers,
// which insert into ClickHouse in large batches.
//
// # Flow
//
// The ingest handler encodes one request's records into one opaque payload
// and calls [Spool.Append]; the request is acknowledged only after Append
// returns nil, by which time the payload has been written and fsync'ed.
// Concurrent Appends are group-committed: a committer goroutine takes
// everything queued and writes it with one write call, while a syncer
// goroutine fsyncs what was written before; one fsync covers every round
// written since the previous one. Many small concurrent appends thus cost one
// fsync per round, not one each, and the disk is kept busy while appenders
// released by one fsync queue up for the next. A writer goroutine reads entries with [Spool.Next] or
// [Spool.NextWait], inserts them, and calls [Spool.Ack]; on a failed insert it
// calls [Spool.Rewind] to have everything after the last Ack delivered again.
//
// # On-disk format
//
// A spool directory holds:
//
//   - segment files named by the sequence number of their first entry,
//     zero-padded to 20 digits ("00000000000000000001.seg"), so that name
//     order is seq order. A segment starts with a 16-byte header — the magic
//     "PRVSPL01" and the first seq (uint64) — followed by entries;
//   - "ack": the highest acknowledged seq, as the magic "PRVACK01", the seq
//     (uint64) and a CRC-32C of those 16 bytes; replaced atomically by
//     writing "ack.tmp", fsync, rename, fsync of the directory;
//   - "LOCK": flock'ed while the spool is open, so that two processes cannot
//     share a directory.
//
// Every entry is a 20-byte header and its payload, integers little-endian:
//
//	[len uint32][crc uint32][seq uint64][count uint32][payload: len bytes]
//
// crc is the CRC-32C (Castagnoli) of len, seq, count and payload. Seqs start
// at 1 and increase by one per entry across segments. count is the number of
// records in the payload, kept for metrics and for sizing batches.
//
// A segment is rotated once it reaches Options.SegmentBytes; segments are
// created (header written, file and directory fsync'ed) before anything is
// written to them. A segment is deleted, and the directory fsync'ed, once all
// its entries are acknowledged, except the newest (active) one, which is kept
// so that seqs keep increasing across restarts.
//
// # Guarantees
//
//   - Durability: when Append returns nil, the entry is on stable storage
//     (unless Options.NoSync) and will be delivered by Next, in this process
//     or — after a crash, kill -9 or power loss — after the next [Open],
//     until it is acknowledged.
//   - Torn tails: a crash can leave a partially written last commit round in
//     the newest segment. Open validates every entry's length, CRC and seq and
//     truncates the newest segment at the first invalid entry; nothing past
//     that point was ever acknowledged to a caller. An invalid entry in an
//     older segment is not a torn write but corruption: Open fails with
//     [ErrCorrupt] naming the file and offset rather than silently drop
//     acknowledged data. Moving that file out of the directory lets Open
//     proceed (the gap is logged as an error).
//   - Order and identity: entries are delivered in seq order, with the
//     payload and seq they were committed with, across restarts. A seq is
//     never reused by another acknowledged entry; seqs of entries lost to a
//     torn tail (never acknowledged) are reused.
//   - At-least-once delivery: an entry is delivered again after Rewind, and
//     after a restart if it was not acknowledged. An Append whose context was
//     cancelled after the committer took it may still land; it is then
//     delivered like any other entry. Downstream deduplication by record id
//     (event_id, consent_event_id) makes both harmless.
//   - Back-pressure: unacknowledged bytes (entry headers included) never
//     exceed Options.MaxBytes; Append returns [ErrFull] instead, which the
//     ingest handler maps to 503 with Retry-After. Disk usage is bounded by
//     about MaxBytes plus two segments (the active segment is kept even when
//     acknowledged, and rotation happens after the round that fills it).
//
// # Tamper evidence (SPEC §7)
//
// The spool keeps request boundaries exactly — one entry is one ingest
// request — and an entry's seq and bytes never change, so a (first seq,
// last seq) range names the same records before and after a crash. A writer
// that seals batches into a hash chain can therefore record the seq range of
// each sealed batch, and after a crash re-seal or skip exactly the same range
// instead of depending on how Next happened to cut batches. The spool itself
// does not interpret payloads; canonical record encoding is the encoder's job.
package spool
