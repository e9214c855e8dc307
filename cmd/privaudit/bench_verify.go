package main

import (
	"context"
	"errors"
	"flag"
	"time"

	"github.com/privaudit/privaudit/reports/reportsbench"
)

// benchVerify is `privaudit bench verify`: it times privaudit verify over
// the whole proof log of an existing data directory (e.g. the one `bench
// reports` loaded) next to ClickHouse reading every stored record raw.
func (m *Main) benchVerify(ctx context.Context, args []string) error {
	o := reportsbench.VerifyOptions{Log: m.Stderr}
	if _, err := m.parse("bench verify", args, func(fs *flag.FlagSet) {
		fs.IntVar(&o.Rounds, "rounds", 3, "rounds, alternating which of verify and the raw read goes first; the median ratio is reported")
	}); err != nil {
		return err
	}
	if len(m.Config.ClickHouse.Addr) > 0 {
		return errors.New("bench verify runs on the managed ClickHouse only: unset clickhouse.addr and point --data-dir at a loaded data directory (make bench-reports keeps /tmp/privaudit-bench-reports)")
	}
	vkey, err := m.verifierKey("")
	if err != nil {
		return err
	}
	st, err := m.openStorage(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	if o.Proof, err = m.verifyOptions(st, vkey); err != nil {
		return err
	}
	o.Proof.Logger = nil
	o.Proof.RecheckAfter = 5 * time.Second
	ch := st.Managed
	res, err := reportsbench.Verify(ctx, reportsbench.Target{Conn: st.Conn, Addr: ch.Addr, HTTPAddr: ch.HTTPAddr, User: ch.AdminUser,
		Password: ch.AdminPassword, Schema: m.Config.Schema()}, o)
	if err != nil {
		return err
	}
	reportsbench.PrintVerify(m.Stdout, res)
	if res.Leaves == 0 {
		return errors.New("bench verify: the proof log is empty: load data first (make bench-reports) and point --data-dir at it")
	}
	return nil
}
