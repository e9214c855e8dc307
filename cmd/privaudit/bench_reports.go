package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

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
	officer, err := benchOfficer(ctx, m, st)
	if err != nil {
		return err
	}
	o.WaitVerdicts = benchVerdictWait(officer, srv.url)
	o.ServerMetrics = benchServerMetrics(officer, srv.url)
	res, err := reportsbench.Run(ctx, reportsbench.Target{Conn: st.Conn, Addr: ch.Addr, HTTPAddr: ch.HTTPAddr, User: ch.AdminUser,
		Password: ch.AdminPassword, Schema: m.Config.Schema()}, o)
	if err != nil {
		return err
	}
	reportsbench.Print(m.Stdout, res)
	return srv.stop()
}

// benchOfficer creates an officer token for the bench server.
func benchOfficer(ctx context.Context, m *Main, st *storage) (string, error) {
	tokens, err := auth.NewStore(st.Conn, m.Config.Schema(), m.Log)
	if err != nil {
		return "", err
	}
	tok, err := tokens.Create(ctx, "bench-officer", auth.RoleOfficer)
	if err != nil {
		return "", fmt.Errorf("bench: officer token: %w", err)
	}
	return tok, nil
}

// benchServerMetrics returns the bench server's /metrics counters by series.
func benchServerMetrics(tok, url string) func(context.Context) (map[string]float64, error) {
	return func(ctx context.Context) (map[string]float64, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url+"/metrics", nil)
		if err != nil {
			return nil, err
		}
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return nil, fmt.Errorf("bench: read the server's metrics: %w", err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("bench: read the server's metrics: %s", resp.Status)
		}
		out := map[string]float64{}
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			line := sc.Text()
			i := strings.LastIndexByte(line, ' ')
			if strings.HasPrefix(line, "#") || i < 0 {
				continue
			}
			if v, err := strconv.ParseFloat(line[i+1:], 64); err == nil {
				out[line[:i]] = v
			}
		}
		return out, sc.Err()
	}
}

// benchVerdictWait returns a wait for the bench server's verdict store: an
// officer's download of an empty consents report, which the server starts
// only once every record it accepted is stored with its verdict.
func benchVerdictWait(tok, url string) func(context.Context) error {
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
	}
}
