package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"

	"github.com/privaudit/privaudit/audit/ingest"
)

const sealStoredUsage = `usage: privaudit seal-stored
Appends a leaf to the proof log for every stored record that has none: records stored
while sealing was off (proof.enabled: false) or before the proof log existed. privaudit
verify reports such records as inserted outside privaudit, and sealing them attests that
they are genuine, so run verify first and check its list: a restart never seals them by
itself. Takes the writer lease: stop privaudit serve first.`

// sealStored runs `privaudit seal-stored`.
func (m *Main) sealStored(ctx context.Context, args []string) error {
	if _, err := m.parseWith("seal-stored", args, 0, nil); err != nil {
		return err
	}
	if !m.Config.Proof.Enabled {
		return errors.New("seal-stored: the proof log is off (proof.enabled: false); switch it on first")
	}
	st, err := m.openStorage(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := m.takeLease(ctx, st, "seal-stored-"+strconv.Itoa(os.Getpid())); err != nil {
		return fmt.Errorf("seal-stored: %w", err)
	}
	pl, err := ingest.NewProofLog(st.Conn, m.Config.Schema(), m.Log)
	if err != nil {
		return err
	}
	n, err := pl.SealUnlogged(ctx)
	if err != nil {
		return fmt.Errorf("seal-stored: %w (%d records sealed before it)", err, n)
	}
	fmt.Fprintf(m.Stdout, "sealed %d stored records that had no leaf into the proof log; the next checkpoint covers them\n", n)
	return nil
}
