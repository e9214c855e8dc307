package main

import (
	"context"
	"flag"

	"github.com/privaudit/privaudit/reports/reportsbench"
)

// benchReports is `privaudit bench reports`: it generates a month of
// events and consents, ingests them through a `privaudit serve` process of
// its own, and times every report next to ClickHouse reading the same rows
// raw (reports/reportsbench).
func (m *Main) benchReports(ctx context.Context, args []string) error {
	o := reportsbench.Options{Seed: 1}
	var serverBinary string
	fs, err := m.parse("bench reports", args, func(fs *flag.FlagSet) {
		fs.IntVar(&o.Events, "events", 10_000_000, "access events to generate over one month")
		fs.IntVar(&o.Customers, "customers", 1_000_000, "customers (consents grow with them)")
		fs.IntVar(&o.LateConsents, "late-consents", 10_000, "consent events of the late-consent load")
		fs.StringVar(&serverBinary, "server-binary", "", "privaudit binary to run the ingesting server with (default: this one)")
	})
	if err != nil {
		return err
	}
	st, srv, tok, err := m.startBench(ctx, benchServerOptions{binary: serverBinary, config: fs.Lookup("config").Value.String()})
	if err != nil {
		return err
	}
	defer st.Close()
	defer srv.stop()
	ch := st.Managed
	o.URL, o.Token, o.Log = srv.url, tok, m.Stderr
	res, err := reportsbench.Run(ctx, reportsbench.Target{Conn: st.Conn, Addr: ch.Addr, HTTPAddr: ch.HTTPAddr, User: ch.AdminUser,
		Password: ch.AdminPassword, Schema: m.Config.Schema()}, o)
	if err != nil {
		return err
	}
	reportsbench.Print(m.Stdout, res)
	return srv.stop()
}
