package main

import (
	"context"
	"flag"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/privaudit/privaudit/audit"
	"github.com/privaudit/privaudit/audit/proof"
	"github.com/privaudit/privaudit/audit/retention"
)

// retentionCmd is `privaudit retention drops`: every partition the
// retention job dropped, with whether its seal holds.
func (m *Main) retentionCmd(ctx context.Context, args []string) error {
	if len(args) == 0 || args[0] != "drops" {
		return usageError{helpTopics["retention"]}
	}
	var vkey string
	if _, err := m.parse("retention drops", args[1:], func(fs *flag.FlagSet) {
		fs.StringVar(&vkey, "verifier-key", "", "check the seals with this verifier key (default: the proof key's, as `privaudit key show` prints it)")
	}); err != nil {
		return err
	}
	if vkey == "" {
		k, err := audit.LoadProofKey(m.keyPath())
		if err != nil {
			return fmt.Errorf("%w (or pass --verifier-key)", err)
		}
		vkey = k.Verifier
	}
	st, err := m.openStorage(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	drops, err := retention.AllSealedDrops(ctx, st.Conn, m.Config.Schema(), vkey)
	if err != nil {
		return err
	}
	w := tabwriter.NewWriter(m.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "DONE AT\tTABLE\tPARTITION\tROWS\tLEAVES\tSEAL")
	for _, d := range drops {
		seal := "signed"
		if d.Problem != "" {
			seal = "UNSIGNED: " + d.Problem
		}
		fmt.Fprintf(w, "%s\t%s.%s\t%s\t%d\t%d\t%s\n", d.DoneAt.UTC().Format(time.RFC3339), proof.Shown(d.DB), proof.Shown(d.Table), proof.Shown(d.Partition),
			d.Rows, audit.LeafCount(d.Leaves), seal)
	}
	return w.Flush()
}
