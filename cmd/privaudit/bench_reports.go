package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"

	"github.com/privaudit/privaudit/audit/auth"
	"github.com/privaudit/privaudit/reports"
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
	if o.WaitVerdicts, err = m.benchVerdictWait(ctx, st, srv.url); err != nil {
		return err
	}
	res, err := reportsbench.Run(ctx, reportsbench.Target{Conn: st.Conn, Addr: ch.Addr, HTTPAddr: ch.HTTPAddr, User: ch.AdminUser,
		Password: ch.AdminPassword, Schema: m.Config.Schema()}, o)
	if err != nil {
		return err
	}
	reportsbench.Print(m.Stdout, res)
	return srv.stop()
}

// benchVerdictWait returns a wait for the bench server's verdict store: an
// officer's download of an empty consents report, which the server starts
// only once every record it accepted is stored with its verdict.
func (m *Main) benchVerdictWait(ctx context.Context, st *storage, url string) (func(context.Context) error, error) {
	tokens, err := auth.NewStore(st.Conn, m.Config.Schema(), m.Log)
	if err != nil {
		return nil, err
	}
	tok, err := tokens.Create(ctx, "bench-officer", auth.RoleOfficer)
	if err != nil {
		return nil, fmt.Errorf("bench: officer token: %w", err)
	}
	q := reports.QueryValues("2000-01-01", "2000-01-02", "csv", nil).Encode()
	return func(ctx context.Context) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url+"/v1/reports/consents?"+q, nil)
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return fmt.Errorf("wait for the verdicts: %w", err)
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			return fmt.Errorf("wait for the verdicts: %w", err)
		}
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("wait for the verdicts: %w", reports.DecodeError(resp.StatusCode, body))
		}
		return nil
	}, nil
}
