package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/privaudit/privaudit/audit"
	"github.com/privaudit/privaudit/audit/proof"
)

// demoProof signs a checkpoint of everything stored, verifies the whole
// trail as `privaudit verify` does, and proves one share after a
// withdrawal, checked offline as an auditor would with `verify-proof`.
func (m *Main) demoProof(ctx context.Context, srv *server, eventID, dir string) error {
	out := m.Stdout
	if srv.checkpointer == nil {
		fmt.Fprintln(out, "9. the proof log is off (proof.enabled: false): nothing to verify")
		return nil
	}
	if _, err := srv.checkpointer.Checkpoint(ctx); err != nil {
		return fmt.Errorf("demo: sign a checkpoint: %w", err)
	}
	vkey, err := m.verifierKey("")
	if err != nil {
		return err
	}
	o, err := m.verifyOptions(srv.st, vkey)
	if err != nil {
		return err
	}
	res, err := proof.Verify(ctx, o)
	if err != nil {
		return err
	}
	if !res.Clean() || res.Latest == nil {
		return fmt.Errorf("demo: privaudit verify found %d problems (%s) or no checkpoint", res.Total(), countsText(res.Counts))
	}
	fmt.Fprintf(out, "9. privaudit verify: clean — %d stored records recomputed, the tree of %d leaves matches checkpoint %d signed by %s\n",
		res.Records, res.TreeSize, res.Latest.Size, res.Latest.Origin)
	if eventID == "" {
		return nil
	}
	file, _, err := proof.Prove(ctx, proof.ProveOptions{Conn: srv.st.Conn, Schema: m.Config.Schema(), ID: eventID, VerifierKey: vkey})
	if err != nil {
		return err
	}
	path := filepath.Join(dir, "proof-"+eventID+".json")
	if err := os.WriteFile(path, file, 0o644); err != nil {
		return fmt.Errorf("demo: write the proof: %w", err)
	}
	v, err := audit.VerifyInclusionProof(file, vkey)
	if err != nil {
		return fmt.Errorf("demo: the proof does not verify: %w", err)
	}
	fmt.Fprintf(out, "   privaudit prove %s (a share after a withdrawal) → %s\n   privaudit verify-proof %s --key %s: the share is leaf %d of the %d signed, checked offline\n",
		eventID, path, filepath.Base(path), vkey, v.LeafIndex, v.TreeSize)
	return nil
}
