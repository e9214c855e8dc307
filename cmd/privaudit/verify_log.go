package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/privaudit/privaudit/audit"
	"github.com/privaudit/privaudit/audit/proof"
	"github.com/privaudit/privaudit/audit/retention"
	"github.com/privaudit/privaudit/reports"
)

// findingsError is a verify of the proof log that found something wrong.
type findingsError struct{ res *proof.Result }

func (e findingsError) Error() string {
	return fmt.Sprintf("verify: %d findings (%s); the records and checkpoints named above were changed outside privaudit: keep this output, the exported checkpoints and the stored tables as evidence",
		e.res.Total(), countsText(e.res.Counts))
}

func (findingsError) ExitCode() int { return exitDiffering }

// stringsFlag is a repeatable string flag.
type stringsFlag []string

func (s *stringsFlag) String() string     { return strings.Join(*s, ",") }
func (s *stringsFlag) Set(v string) error { *s = append(*s, v); return nil }

// verifyLog runs `privaudit verify` on the proof log.
func (m *Main) verifyLog(ctx context.Context, args []string) error {
	var from, to, key string
	var external stringsFlag
	var maxListed int
	var recheck time.Duration
	if _, err := m.parse("verify", args, func(fs *flag.FlagSet) {
		fs.Var(&external, "checkpoint", "a checkpoint held off this machine, or a folder of them (repeatable; default: every file of proof.export_dir)")
		fs.StringVar(&key, "key", "", "the verifier key every checkpoint must be signed by, or a file holding it (default: the proof key's)")
		fs.StringVar(&from, "from", "", "compare only the records ingested from this time (2026-10-01 or RFC 3339); the tree is checked whole")
		fs.StringVar(&to, "to", "", "… and before this time, exclusive")
		fs.IntVar(&maxListed, "max-listed", 1000, "name at most this many findings; the rest are counted")
		fs.DurationVar(&recheck, "recheck-after", proof.DefaultRecheckAfter, "wait before a second look at records found without a leaf (a running writer may be appending them); 0: none")
	}); err != nil {
		return err
	}
	var bounds [2]time.Time
	for i, b := range []string{from, to} {
		if b == "" {
			continue
		}
		t, err := reports.ParseTime(b)
		if err != nil {
			return usageError{fmt.Sprintf("--%s: %v", []string{"from", "to"}[i], err)}
		}
		bounds[i] = t
	}
	if !bounds[0].IsZero() && !bounds[1].IsZero() && !bounds[0].Before(bounds[1]) {
		return usageError{fmt.Sprintf("--from %s must be before --to %s (the period is [from, to))", from, to)}
	}
	vkey, err := m.verifierKey(key)
	if err != nil {
		return err
	}
	ext, err := m.externalCheckpoints(external)
	if err != nil {
		return err
	}
	st, err := m.openStorage(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	o, err := m.verifyOptions(st, vkey)
	if err != nil {
		return err
	}
	o.External, o.From, o.To, o.MaxListed, o.RecheckAfter = ext, bounds[0], bounds[1], maxListed, recheck
	res, err := proof.Verify(ctx, o)
	if err != nil {
		return err
	}
	printVerify(m.Stdout, res, o)
	if !res.Clean() {
		return findingsError{res}
	}
	return nil
}

// verifyOptions are the options of every verify of the proof log: the
// connections, schema, verifier key and the sealed retention drops.
func (m *Main) verifyOptions(st *storage, vkey string) (proof.Options, error) {
	v, err := note.NewVerifier(vkey)
	if err != nil {
		return proof.Options{}, fmt.Errorf("verifier key %q: %w (want name+hash+key, as `privaudit key show` prints)", vkey, err)
	}
	schema := m.Config.Schema()
	conn := st.Conn
	return proof.Options{Conn: conn, Scan: st.Scan, Schema: schema, Verifier: v, Logger: m.Log, RecheckAfter: proof.DefaultRecheckAfter,
		Drops: func(ctx context.Context) ([]audit.SealedDrop, error) {
			return retention.SealedDrops(ctx, conn, schema, vkey)
		}}, nil
}

// verifierKey is the verifier key given (the key itself or a file holding
// it, never the signing key), or the proof key's.
func (m *Main) verifierKey(given string) (string, error) {
	if given != "" {
		return readVerifierKey(given)
	}
	k, err := audit.LoadProofKey(m.keyPath())
	if err != nil {
		return "", fmt.Errorf("verify needs the verifier key: %w (or give it with --key)", err)
	}
	return k.Verifier, nil
}

// readSmallFile reads a file the operator named that must be small (a
// key, a checkpoint, a proof), refusing one past limit bytes before
// reading it.
func readSmallFile(path string, limit int64, what string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%s: more than %d bytes, too large for %s", path, limit, what)
	}
	return b, nil
}

// externalCheckpoints reads the checkpoints given, or by default those of
// proof.export_dir.
func (m *Main) externalCheckpoints(given []string) ([]proof.External, error) {
	if len(given) == 0 && m.Config.Proof.ExportDir != "" {
		if _, err := os.Stat(m.Config.Proof.ExportDir); err == nil {
			given = []string{m.Config.Proof.ExportDir}
		}
	}
	var out []proof.External
	for _, p := range given {
		files := []string{p}
		if fi, err := os.Stat(p); err == nil && fi.IsDir() {
			if files, err = filepath.Glob(filepath.Join(p, "checkpoint-*.txt")); err != nil {
				return nil, err
			}
		}
		for _, f := range files {
			b, err := readSmallFile(f, 1<<20, "a signed checkpoint")
			if err != nil {
				return nil, fmt.Errorf("--checkpoint: %w", err)
			}
			out = append(out, proof.External{Name: f, Note: b})
		}
	}
	return out, nil
}

// printVerify prints the findings, then a summary.
func printVerify(w io.Writer, r *proof.Result, o proof.Options) {
	for _, f := range r.Findings {
		fmt.Fprintln(w, f.String())
	}
	if n := r.Total(); n > uint64(len(r.Findings)) {
		fmt.Fprintf(w, "… and %d more (--max-listed %d)\n", n-uint64(len(r.Findings)), o.MaxListed)
	}
	fmt.Fprintf(w, "log %s: %d leaves, root %x\n", o.Verifier.Name(), r.TreeSize, r.Root)
	if r.Latest != nil {
		fmt.Fprintf(w, "latest checkpoint: %d leaves, signed %s; %d stored and %d exported checkpoints checked\n",
			r.Latest.Size, r.LatestSignedAt.UTC().Format(time.RFC3339), r.Checkpoints, r.Externals)
		if r.TreeSize > r.Latest.Size {
			fmt.Fprintf(w, "the last %d leaves are not signed yet (the next checkpoint signs them)\n", r.TreeSize-r.Latest.Size)
		}
	} else {
		fmt.Fprintf(w, "no stored checkpoint verifies (%d checked): the log is signed by none\n", r.Checkpoints)
	}
	scope := "every stored record"
	if !o.From.IsZero() || !o.To.IsZero() {
		scope = fmt.Sprintf("the records ingested in [%s, %s)", fmtBound(o.From), fmtBound(o.To))
	}
	how := "compared with their leaves one by one"
	if r.Digest {
		how = "all as logged (their digest equals the leaves')"
	}
	fmt.Fprintf(w, "records: %s recomputed, %d rows, %s\n", scope, r.Records, how)
	if r.Later > 0 {
		fmt.Fprintf(w, "records: %d stored in batches logged after this run began, past the leaves it checked: the next run checks them\n", r.Later)
	}
	if r.Retained > 0 || len(r.Drops) > 0 {
		fmt.Fprintf(w, "retention: %d logged records removed by %d sealed retention drops (not tampering):\n", r.Retained, len(r.Drops))
		for _, d := range r.Drops {
			fmt.Fprintf(w, "  %s partition %s: %d rows dropped %s (drop %s, signed)\n", d.Table, proof.Shown(d.Partition), d.Rows, d.DoneAt.UTC().Format(time.RFC3339), proof.Shown(d.DropID))
		}
	}
	if r.Clean() {
		fmt.Fprintln(w, "clean: every stored record is the one logged, every logged record is stored or sealed as retention, and every checkpoint verifies and matches the tree")
	}
}

func fmtBound(t time.Time) string {
	if t.IsZero() {
		return "…"
	}
	return t.UTC().Format(time.RFC3339)
}

// countsText is "2 altered, 1 deleted" in a fixed order.
func countsText(c map[proof.FindingKind]uint64) string {
	kinds := make([]string, 0, len(c))
	for k := range c {
		kinds = append(kinds, string(k))
	}
	slices.Sort(kinds)
	parts := make([]string, len(kinds))
	for i, k := range kinds {
		parts[i] = fmt.Sprintf("%d %s", c[proof.FindingKind(k)], k)
	}
	return strings.Join(parts, ", ")
}
