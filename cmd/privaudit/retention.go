package main

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/privaudit/privaudit/audit"
	"github.com/privaudit/privaudit/audit/auth"
	"github.com/privaudit/privaudit/audit/retention"
	"github.com/privaudit/privaudit/audit/store"
)

// startRetention mounts the legal-hold endpoints (admin only) and starts
// the retention job: once at start, then every retention.every, until stop.
// It runs in `serve`, which holds the writer lease, so in replicated mode
// only the lease holder drops partitions. With the proof log on, each drop
// is signed with the proof key (startCheckpoints creates it first).
func (m *Main) startRetention(ctx context.Context, s *server, mux *http.ServeMux, instance string) error {
	replicas, err := m.replicaConns(ctx)
	if err != nil {
		return err
	}
	closeReplicas := func() {
		for _, c := range replicas {
			c.Close()
		}
	}
	var key *audit.ProofKey
	if m.Config.Proof.Enabled {
		if key, err = audit.LoadProofKey(m.keyPath()); err != nil {
			closeReplicas()
			return fmt.Errorf("retention: the proof key signs each drop: %w", err)
		}
	}
	var pause func() (resume func())
	if pl := s.ingestor.ProofLog(); pl != nil {
		pause = pl.Pause
	}
	job, err := retention.NewJob(retention.Options{Conn: s.st.Conn, Replicas: replicas, Schema: m.Config.Schema(),
		Policy: m.Config.Retention.Policy(), Instance: instance, Registerer: s.metrics, Logger: m.Log, Key: key, Pause: pause})
	if err != nil {
		closeReplicas()
		return err
	}
	retention.Routes(mux, retention.RouteOptions{Holds: job.Holds(), Record: s.ingestor.Record, Logger: m.Log,
		Admin: func(h http.Handler) http.Handler { return s.tokens.Require(m.Log, h, auth.RoleAdmin) }})
	ctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(m.Config.Retention.Every)
		defer t.Stop()
		for {
			if err := job.Run(ctx); err != nil && ctx.Err() == nil {
				m.Log.Error("retention run failed; retried at the next run", "err", err)
			}
			select {
			case <-ctx.Done():
				return
			case <-s.st.Lease.Lost():
				return
			case <-t.C:
			}
		}
	}()
	s.stopRetention = func() { cancel(); <-done; closeReplicas() }
	return nil
}

// replicaConns are, in cluster mode, one connection to each configured
// ClickHouse address, through which the retention job finds the replica
// leading a table; none otherwise.
func (m *Main) replicaConns(ctx context.Context) ([]driver.Conn, error) {
	c := m.Config.ClickHouse
	if c.Cluster == "" {
		return nil, nil
	}
	var out []driver.Conn
	for _, addr := range c.Addr {
		o := store.Options{Addrs: []string{addr}, User: c.User, Password: c.Password, Logger: m.Log}
		if c.TLS {
			o.TLS = &tls.Config{MinVersion: tls.VersionTLS12}
		}
		conn, err := store.Open(ctx, o)
		if err != nil {
			m.Log.Warn("retention: replica not reachable now; partitions are dropped through the leading replica", "addr", addr, "err", err)
			continue
		}
		out = append(out, conn)
	}
	return out, nil
}

// hold is `privaudit hold set|lift|list`, a client of the admin endpoints.
func (m *Main) hold(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return usageError{helpTopics["hold"]}
	}
	switch args[0] {
	case "set":
		return m.holdSet(ctx, args[1:])
	case "lift":
		return m.holdLift(ctx, args[1:])
	case "list":
		if _, err := m.parse("hold list", args[1:], nil); err != nil {
			return err
		}
		return m.holdCall(ctx, apiCall{method: http.MethodGet, path: "/v1/holds"})
	}
	return usageError{helpTopics["hold"]}
}

func (m *Main) holdSet(ctx context.Context, args []string) error {
	var req retention.HoldRequest
	var from, to string
	if _, err := m.parse("hold set", args, func(fs *flag.FlagSet) {
		fs.StringVar(&req.SubjectID, "subject", "", "hold every record of this subject_id")
		fs.StringVar(&from, "from", "", "hold the period from this time (RFC 3339 or YYYY-MM-DD, UTC)")
		fs.StringVar(&to, "to", "", "… to this time, excluded")
		fs.StringVar(&req.Reason, "reason", "", "why (matter or case number); required")
	}); err != nil {
		return err
	}
	var err error
	if req.From, err = holdTime("--from", from); err != nil {
		return err
	}
	if req.To, err = holdTime("--to", to); err != nil {
		return err
	}
	body, _ := json.Marshal(req)
	return m.holdCall(ctx, apiCall{method: http.MethodPost, path: "/v1/holds", body: body})
}

func (m *Main) holdLift(ctx context.Context, args []string) error {
	var id, reason string
	if _, err := m.parse("hold lift", args, func(fs *flag.FlagSet) {
		fs.StringVar(&id, "id", "", "the hold's id (privaudit hold list)")
		fs.StringVar(&reason, "reason", "", "why it is lifted; required")
	}); err != nil {
		return err
	}
	if id == "" || reason == "" {
		return usageError{"--id and --reason are required; `privaudit hold list` shows the holds' ids"}
	}
	body, _ := json.Marshal(retention.HoldRequest{Reason: reason})
	return m.holdCall(ctx, apiCall{method: http.MethodPost, path: "/v1/holds/" + url.PathEscape(id) + "/lift", body: body})
}

// holdCall sends c and prints the server's JSON answer.
func (m *Main) holdCall(ctx context.Context, c apiCall) error {
	resp, err := m.api(ctx, c)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var v any
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
		return fmt.Errorf("read the server's answer: %w", err)
	}
	enc := json.NewEncoder(m.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// holdTime parses a --from/--to value: RFC 3339, or a date (UTC midnight).
func holdTime(flagName, s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.UTC(), nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	return time.Time{}, usageError{fmt.Sprintf("%s %q: want an RFC 3339 time (2024-01-31T00:00:00Z) or a date (2024-01-31)", flagName, s)}
}

const holdUsage = `usage: privaudit hold set (--subject ID | --from T --to T) --reason TEXT
       privaudit hold lift --id ID --reason TEXT
       privaudit hold list
Sets, lifts or lists legal holds on a running server (admin token). While a hold
stands, the retention job keeps every monthly partition holding the subject's
records or overlapping the period. Each set and lift is recorded in the audit trail
under the token's name.`
