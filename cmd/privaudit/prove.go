package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/privaudit/privaudit/audit"
	"github.com/privaudit/privaudit/audit/proof"
)

const proveUsage = `usage: privaudit prove EVENT_ID [--out FILE] [--checkpoint-size N]
Writes a self-contained inclusion proof of one stored record (an event_id or a
consent_event_id): the record as stored, its leaf index, the inclusion path and the
signed checkpoint (the latest covering it, or the one of tree size N). Anyone holding
the verifier key (privaudit key show) checks it offline with privaudit verify-proof.
Opens storage directly, as token create does; refuses a record altered since it was
logged.`

const verifyProofUsage = `usage: privaudit verify-proof FILE --key PUB
Checks an inclusion proof offline (no server, no ClickHouse, no configuration): PUB
is the verifier key (name+hash+key, as privaudit key show prints) or a file holding
it. Exit 0 when the proof holds, printing what it proves; non-zero with the reason
otherwise.`

// prove runs `privaudit prove`.
func (m *Main) prove(ctx context.Context, args []string) error {
	var out string
	var size uint64
	pos, err := m.parseWith("prove", args, 1, func(fs *flag.FlagSet) {
		fs.StringVar(&out, "out", "", "write the proof to FILE (default: standard output)")
		fs.Uint64Var(&size, "checkpoint-size", 0, "prove under the stored checkpoint of this tree size (default: the latest covering the record)")
	})
	if err != nil {
		return err
	}
	vkey := ""
	if k, err := audit.LoadProofKey(m.keyPath()); err == nil {
		vkey = k.Verifier
	} else {
		m.Log.Warn("prove: the proof's signature is not checked here", "reason", err.Error())
	}
	st, err := m.openStorage(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	file, res, err := proof.Prove(ctx, proof.ProveOptions{Conn: st.Conn, Schema: m.Config.Schema(), ID: pos[0], CheckpointSize: size, VerifierKey: vkey})
	if err != nil {
		return err
	}
	summary, dest := m.Stdout, " to "+out
	if out == "" || out == "-" {
		if _, err := m.Stdout.Write(file); err != nil {
			return fmt.Errorf("prove: write the proof: %w", err)
		}
		summary, dest = m.Stderr, ""
	} else if err := writeAtomic(out, bytes.NewReader(file)); err != nil {
		return fmt.Errorf("prove: write %s: %w", out, err)
	}
	fmt.Fprintf(summary, "proof of %s written%s: leaf %d of the checkpoint of tree size %d (%s)\n",
		recordName(res), dest, res.LeafIndex, res.TreeSize, res.Origin)
	return nil
}

// recordName is "access event ID" or "consent event ID".
func recordName(v *audit.Verified) string {
	if v.Kind == audit.KindConsents {
		return "consent event " + v.ID
	}
	return "access event " + v.ID
}

// verifyProof runs `privaudit verify-proof`: offline, it reads no
// configuration.
func (m *Main) verifyProof(_ context.Context, args []string) error {
	fs := flag.NewFlagSet("privaudit verify-proof", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	pub := fs.String("key", "", "the verifier key (name+hash+key, as privaudit key show prints) or a file holding it")
	pos, rest := positional(args, 1)
	if err := fs.Parse(rest); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			printHelp(m.Stdout, "verify-proof", fs)
			return errHelpShown
		}
		return usageError{fmt.Sprintf("%v\n%s", err, verifyProofUsage)}
	}
	if len(pos) != 1 || fs.NArg() > 0 || *pub == "" {
		return usageError{verifyProofUsage}
	}
	vkey, err := readVerifierKey(*pub)
	if err != nil {
		return err
	}
	file, err := readSmallFile(pos[0], 64<<20, "a proof of one record")
	if err != nil {
		return fmt.Errorf("verify-proof: %w", err)
	}
	res, err := audit.VerifyInclusionProof(file, vkey)
	if err != nil {
		return fmt.Errorf("verify-proof %s: the proof does not hold: %w", pos[0], err)
	}
	when := "occurred_at"
	if res.Kind == audit.KindConsents {
		when = "effective_at"
	}
	fmt.Fprintf(m.Stdout, "valid: %s was leaf %d of the log %s when it held %d records\n", recordName(res), res.LeafIndex, res.Origin, res.TreeSize)
	fmt.Fprintf(m.Stdout, "  kind:        %s\n  id:          %s\n  subject:     %s\n  %-12s %s\n",
		res.Kind, proof.Shown(res.ID), proof.Shown(res.SubjectID), when+":", res.When.UTC().Format(time.RFC3339))
	fmt.Fprintf(m.Stdout, "  leaf index:  %d\n  tree size:   %d\n  checkpoint:  origin %s, root %s\n",
		res.LeafIndex, res.TreeSize, res.Origin, base64.StdEncoding.EncodeToString(res.Root))
	return nil
}

// readVerifierKey returns pub, or the content of the file named pub.
func readVerifierKey(pub string) (string, error) {
	fi, err := os.Stat(pub)
	if err != nil || !fi.Mode().IsRegular() {
		return pub, nil
	}
	b, err := readSmallFile(pub, 64<<10, "a verifier key")
	if err != nil {
		return "", fmt.Errorf("--key: %w", err)
	}
	if strings.Contains(string(b), "PRIVATE+KEY") {
		return "", usageError{fmt.Sprintf("--key %s holds the signing key: pass the verifier key alone (privaudit key show prints it); keep the signing key off the verifier's machine", pub)}
	}
	return strings.TrimSpace(string(b)), nil
}
