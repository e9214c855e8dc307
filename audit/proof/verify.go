package proof

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"golang.org/x/mod/sumdb/note"

	"github.com/privaudit/privaudit/audit"
	"github.com/privaudit/privaudit/audit/chwire"
	"github.com/privaudit/privaudit/queries"
)

// FindingKind names what verify found wrong.
type FindingKind string

// The findings of Verify. Each names the record (table, key, batch) or the
// checkpoint it is about.
const (
	// Altered: a stored record's recomputed leaf differs from its leaf.
	Altered FindingKind = "altered"
	// Deleted: a logged record is no longer stored, and no sealed
	// retention drop removed it.
	Deleted FindingKind = "deleted"
	// Inserted: a stored record has no leaf: written outside privaudit,
	// or its leaf was removed.
	Inserted FindingKind = "inserted"
	// Copied: a record stored more than once, or logged more than once.
	Copied FindingKind = "copied"
	// LeafMissing: a leaf index the tree needs has no row.
	LeafMissing FindingKind = "leaf_missing"
	// LeafRepeated: a leaf index with more than one row.
	LeafRepeated FindingKind = "leaf_repeated"
	// LeafMalformed: a leaf of a run whose keys and hashes differ in number.
	LeafMalformed FindingKind = "leaf_malformed"
	// CheckpointForged: a checkpoint that does not verify with the key.
	CheckpointForged FindingKind = "checkpoint_forged"
	// CheckpointMissing: a checkpoint held outside ClickHouse that
	// log_checkpoints no longer holds.
	CheckpointMissing FindingKind = "checkpoint_missing"
	// CheckpointInconsistent: a checkpoint whose root is not the tree's
	// at its size: the history it signed was rewritten.
	CheckpointInconsistent FindingKind = "checkpoint_inconsistent"
	// DropUnsealed: a retention drop whose seal does not hold, so the
	// records it removed count as deleted.
	DropUnsealed FindingKind = "drop_unsealed"
)

// Finding is one thing verify found wrong.
type Finding struct {
	Kind FindingKind
	// Table is access_events or consent_events for a record; "" else.
	Table string
	// Key is the record's event_id or consent_event_id, a retention
	// drop's id, or the name of a checkpoint (its source).
	Key   string
	Batch string
	// Leaf is the leaf index, when HasLeaf.
	Leaf    uint64
	HasLeaf bool
	Detail  string
}

// String is the finding as one line of verify's report.
func (f Finding) String() string {
	s := string(f.Kind)
	if f.Table != "" {
		s += " " + f.Table
	}
	if f.Key != "" {
		s += " " + Shown(f.Key)
	}
	if f.Batch != "" {
		s += " batch=" + Shown(f.Batch)
	}
	if f.HasLeaf {
		s += fmt.Sprintf(" leaf=%d", f.Leaf)
	}
	return s + ": " + f.Detail
}

// Shown is s as verify prints a value read from storage: as is when it is
// all printable and unspaced, else Go-quoted, so a key written outside
// privaudit cannot break a line of the report or forge one (a newline
// followed by "clean: …").
func Shown(s string) string {
	if strings.IndexFunc(s, func(r rune) bool { return !unicode.IsGraphic(r) || unicode.IsSpace(r) }) >= 0 || s == "" {
		return strconv.Quote(s)
	}
	return s
}

// External is a checkpoint held outside ClickHouse (an exported copy, an
// auditor's): Name says where it came from.
type External struct {
	Name string
	Note []byte
}

// Options configure Verify.
type Options struct {
	Conn driver.Conn
	// Scan reaches the same ClickHouse over the native protocol
	// (audit/chwire): verify reads the leaves and every stored record with
	// it.
	Scan   chwire.Options
	Schema queries.Schema
	// Verifier is the proof key's verifier: every checkpoint must be
	// signed by it.
	Verifier note.Verifier
	// External checkpoints must verify, be stored, and match the tree.
	External []External
	// From and To, when set, narrow the records compared with their
	// leaves to those ingested in [From, To) and the leaves appended in
	// it; the tree and checkpoints are always checked whole.
	From, To time.Time
	// Drops returns the retention drops; nil when retention never drops.
	Drops func(ctx context.Context) ([]audit.SealedDrop, error)
	// MaxListed caps the findings listed (default 1000); all are counted.
	MaxListed int
	// RecheckAfter, when set (DefaultRecheckAfter is what privaudit
	// uses), is the wait before a second look at records
	// found without a leaf, which a running writer may be appending.
	RecheckAfter time.Duration
	Logger       *slog.Logger
}

// DefaultRecheckAfter is the RecheckAfter of privaudit verify and of the
// scheduled verify: far longer than a writer takes from storing a batch
// to appending its leaves.
const DefaultRecheckAfter = 3 * time.Second

// Result is what Verify found.
type Result struct {
	// TreeSize and Root are the tree rebuilt from the stored leaves.
	TreeSize uint64
	Root     []byte
	// Latest is the newest stored checkpoint that verifies; nil if none.
	Latest         *audit.Checkpoint
	LatestSignedAt time.Time
	// Checkpoints and Externals count the checkpoints checked.
	Checkpoints, Externals int
	// Records counts the stored records compared with their leaves.
	Records uint64
	// Retained counts the logged records that the sealed retention drops
	// Drops removed.
	Retained uint64
	// Later counts the stored records of batches logged after the run
	// began, past the leaves it checks: the next run checks them.
	Later uint64
	// Digest is true when the records were found as logged by their
	// digest alone (see verify_digest.go), false when they were compared
	// record by record.
	Digest bool
	Drops  []audit.SealedDrop
	// Findings lists the first MaxListed findings; Counts counts all.
	Findings []Finding
	Counts   map[FindingKind]uint64
}

// Clean reports whether verify found nothing wrong.
func (r *Result) Clean() bool { return len(r.Counts) == 0 }

// Total is the number of findings.
func (r *Result) Total() uint64 {
	var n uint64
	for _, c := range r.Counts {
		n += c
	}
	return n
}

// Verify checks the proof log: every stored checkpoint's and external
// checkpoint's signature, the tree rebuilt from the stored leaves against
// every checkpoint's root, and every stored record's recomputed leaf
// against its leaf. A finding is not an error: Verify returns an error
// only when it could not check.
func Verify(ctx context.Context, o Options) (*Result, error) {
	if o.Conn == nil || len(o.Scan.Addrs) == 0 || o.Verifier == nil {
		return nil, errors.New("verify: a connection, a scan address and a verifier key are required")
	}
	if o.MaxListed <= 0 {
		o.MaxListed = 1000
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	v := &verifier{o: o, res: &Result{Counts: map[FindingKind]uint64{}}}
	want, err := v.checkpoints(ctx)
	if err != nil {
		return nil, err
	}
	want = append(want, v.externals(want)...)
	if v.retained, err = v.drops(ctx); err != nil {
		return nil, err
	}
	if v.snap, err = v.snapshot(ctx); err != nil {
		return nil, err
	}
	v.key, v.digest = newDigestKey(), !v.period() && v.snap.rows > 0
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	digested := v.startDigest(ctx)
	tally, err := v.tree(ctx, want)
	if err != nil {
		return nil, err
	}
	if digested != nil {
		v.o.Logger.Info("verify: tree rebuilt; waiting for the stored records' digest", "leaves", v.res.TreeSize)
		if done, err := v.digested(ctx, &tally, <-digested); err != nil || done {
			return v.res, err
		}
	}
	if err := v.records(ctx); err != nil {
		return nil, err
	}
	return v.res, nil
}

// digestRun is the outcome of recordDigest.
type digestRun struct {
	r   recordDigest
	err error
}

// startDigest starts the digest of the stored records (verify_scan.go),
// computed while the tree is rebuilt; nil when the digest pass does not
// run.
func (v *verifier) startDigest(ctx context.Context) chan digestRun {
	if !v.digest {
		return nil
	}
	v.o.Logger.Info("verify: reading every stored record and digesting its recomputed leaf while the tree is rebuilt, the longest step")
	digested := make(chan digestRun, 1)
	go func() {
		r, err := v.recordDigest(ctx)
		digested <- digestRun{r, err}
	}()
	return digested
}

// digested settles the records pass by the digest when it holds; else the
// record-by-record pass must name what differs.
func (v *verifier) digested(ctx context.Context, t *leafTally, d digestRun) (bool, error) {
	if d.err != nil {
		if ctx.Err() != nil {
			return false, d.err
		}
		v.o.Logger.Warn("verify: the digest of the stored records failed; comparing record by record instead", "err", d.err)
		return false, nil
	}
	ok, err := v.digestHolds(ctx, t, d.r)
	if err != nil {
		return false, err
	}
	if !ok {
		v.o.Logger.Info("verify: the stored records differ from the log; comparing record by record to name each difference")
	}
	return ok, nil
}

// verifier is one run of Verify.
type verifier struct {
	o   Options
	res *Result
	// snap is the log as the run found it; key is its digest key;
	// retained are the leaves sealed retention drops removed; digest is
	// whether the digest pass runs (not for a period).
	snap     snapshot
	key      digestKey
	retained leafRuns
	digest   bool
}

func (v *verifier) add(f Finding) {
	v.res.Counts[f.Kind]++
	if len(v.res.Findings) < v.o.MaxListed {
		v.res.Findings = append(v.res.Findings, f)
	}
}

func (v *verifier) sql(name string) (string, error) {
	return queries.ProofPeriod(name, v.o.Schema, v.period())
}

func (v *verifier) period() bool { return !v.o.From.IsZero() || !v.o.To.IsZero() }
