package main

import (
	"context"
	"encoding/csv"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"github.com/privaudit/privaudit/audit/auth"
	"github.com/privaudit/privaudit/audit/synth"
	"github.com/privaudit/privaudit/reports"
	"github.com/privaudit/privaudit/reports/sqlconsole"
)

// demoOfficer asks a compliance officer's everyday questions through the
// HTTP API, as `privaudit query` and `privaudit report run` do, under an
// officer token: did anything reach the ad network without consent or
// after a withdrawal, what exactly (a filtered violations report), the
// customer-ready copy for one customer concerned, and the trail of it all.
// It returns the event_id of a share after a withdrawal, if any.
func (m *Main) demoOfficer(ctx context.Context, srv *server, dir string, from, to time.Time) (string, error) {
	tok, err := srv.tokens.Create(ctx, "demo-officer", auth.RoleOfficer)
	if err != nil {
		return "", err
	}
	m.Config.Token = tok
	out := m.Stdout
	fmt.Fprintln(out, "8. an officer's questions, through the API under the token demo-officer:")
	period := map[string]string{"since": from.Format(time.DateOnly), "until": to.Format(time.DateOnly)}
	adnet, err := m.demoSaved(ctx, dir, "ad-network", map[string]string{"recipient": synth.AdNetwork}, period)
	if err != nil {
		return "", err
	}
	fmt.Fprintf(out, "   shares-after-withdrawal --param recipient=%s: %d disclosures (%d never consented, %d after a withdrawal)\n",
		synth.AdNetwork, len(adnet), count(adnet, "never_consented"), count(adnet, "withdrawn"))
	all, err := m.demoSaved(ctx, dir, "all", nil, period)
	if err != nil {
		return "", err
	}
	withdrawn, shared := "", ""
	for _, r := range all {
		if r["finding"] == "withdrawn" {
			withdrawn, shared = r["subject_id"], r["event_id"]
			break
		}
	}
	q := reports.QueryValues(from.Format(time.DateOnly), to.Format(time.DateOnly), "xlsx", nil)
	reports.SetFilters(q, map[string]string{"recipient": synth.AdNetwork})
	if err := m.demoDownload(ctx, "violations", q, filepath.Join(dir, "ad-network_violations.xlsx"), "--filter recipient="+synth.AdNetwork); err != nil {
		return "", err
	}
	if withdrawn != "" {
		q = reports.QueryValues(from.Format(time.DateOnly), to.Format(time.DateOnly), "html", map[string]string{"subject_id": withdrawn})
		if err := m.demoDownload(ctx, reports.CustomerSubjectAccess, q, filepath.Join(dir, "customer-"+withdrawn+".html"),
			"--audience customer for "+withdrawn+", shared after a withdrawal"); err != nil {
			return "", err
		}
	}
	q = reports.QueryValues(time.Now().UTC().Format(time.DateOnly), time.Now().UTC().AddDate(0, 0, 1).Format(time.DateOnly), "csv", nil)
	return shared, m.demoDownload(ctx, "officer-activity", q, filepath.Join(dir, "officer-activity.csv"), "today: every action above, under demo-officer")
}

// demoSaved runs the saved query shares-after-withdrawal into
// dir/shares-after-withdrawal_NAME.csv and returns its rows by column.
func (m *Main) demoSaved(ctx context.Context, dir, name string, extra, period map[string]string) ([]map[string]string, error) {
	params := map[string]string{}
	for k, v := range period {
		params[k] = v
	}
	for k, v := range extra {
		params[k] = v
	}
	path := filepath.Join(dir, "shares-after-withdrawal_"+name+".csv")
	if err := m.runQuery(ctx, sqlconsole.Request{Saved: "shares-after-withdrawal", Params: params, Format: "csv"}, path); err != nil {
		return nil, fmt.Errorf("saved query shares-after-withdrawal: %w", err)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil || len(recs) == 0 {
		return nil, fmt.Errorf("saved query shares-after-withdrawal: read %s: %v", path, err)
	}
	rows := make([]map[string]string, 0, len(recs)-1)
	for _, rec := range recs[1:] {
		row := map[string]string{}
		for i, h := range recs[0] {
			row[h] = rec[i]
		}
		rows = append(rows, row)
	}
	return rows, nil
}

// demoDownload downloads one report as `privaudit report run` does and
// prints what it was for.
func (m *Main) demoDownload(ctx context.Context, name string, q url.Values, path, why string) error {
	rows, err := m.download(ctx, name, q, path)
	if err != nil {
		return err
	}
	fmt.Fprintf(m.Stdout, "   %-24s %6s rows  %s (%s)\n", name, rows, filepath.Base(path), why)
	return nil
}

// count returns how many rows have finding f.
func count(rows []map[string]string, f string) int {
	n := 0
	for _, r := range rows {
		if r["finding"] == f {
			n++
		}
	}
	return n
}
