// Package store opens privaudit's ClickHouse connections — to the managed
// local server or to a configured one — and applies the schema migrations.
package store

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/privaudit/privaudit/audit/chwire"
	"github.com/privaudit/privaudit/queries"
)

// Options say how to reach ClickHouse.
type Options struct {
	Addrs    []string
	User     string
	Password string
	// Database is the default database of the connection (may be empty).
	Database string
	TLS      *tls.Config
	// MaxOpenConns bounds the pool; default 8.
	MaxOpenConns int
	// DialTimeout defaults to 5s.
	DialTimeout time.Duration
	Logger      *slog.Logger
}

// Scan is opts as audit/chwire takes them, for reads of every stored
// record (privaudit verify).
func (opts Options) Scan() chwire.Options {
	return chwire.Options{Addrs: opts.Addrs, User: opts.User, Password: opts.Password, Database: opts.Database,
		TLS: opts.TLS, DialTimeout: opts.DialTimeout}
}

// Open connects to ClickHouse over the native protocol and checks that the
// server answers.
func Open(ctx context.Context, opts Options) (driver.Conn, error) {
	if len(opts.Addrs) == 0 {
		return nil, fmt.Errorf("clickhouse: no address configured")
	}
	if opts.MaxOpenConns <= 0 {
		opts.MaxOpenConns = 8
	}
	if opts.DialTimeout <= 0 {
		opts.DialTimeout = 5 * time.Second
	}
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	conn, err := clickhouse.Open(&clickhouse.Options{
		Addr:            opts.Addrs,
		Auth:            clickhouse.Auth{Username: opts.User, Password: opts.Password, Database: opts.Database},
		TLS:             opts.TLS,
		DialTimeout:     opts.DialTimeout,
		MaxOpenConns:    opts.MaxOpenConns,
		MaxIdleConns:    opts.MaxOpenConns,
		ConnMaxLifetime: time.Hour,
		Compression:     opts.compression(),
		Logger:          slog.New(quietHandler{log.Handler()}).With("component", "clickhouse-go"),
		ClientInfo:      clickhouse.ClientInfo{Products: []struct{ Name, Version string }{{Name: "privaudit", Version: "1"}}},
		// In order, not round-robin: every connection goes to the first node
		// that answers, so one instance's writes and reads meet on one replica
		// and the others are failovers.
		ConnOpenStrategy: clickhouse.ConnOpenInOrder,
	})
	if err != nil {
		return nil, fmt.Errorf("clickhouse open: %w", err)
	}
	pctx, cancel := context.WithTimeout(ctx, opts.DialTimeout+5*time.Second)
	defer cancel()
	if err := conn.Ping(pctx); err != nil {
		conn.Close()
		return nil, fmt.Errorf("clickhouse ping %v: %w", opts.Addrs, err)
	}
	return conn, nil
}

// Migrate applies the embedded schema migrations. It refuses while
// another instance holds the writer lease (see refuseLiveWriter).
func Migrate(ctx context.Context, conn driver.Conn, s queries.Schema, log *slog.Logger) error {
	if log == nil {
		log = slog.Default()
	}
	if !queries.Current(ctx, conn, s) {
		if err := refuseLiveWriter(ctx, conn, s); err != nil {
			return err
		}
	}
	return queries.Migrate(ctx, conn, s, log)
}

// CheckCluster refuses a cluster that spans more than one shard: privaudit's
// idempotency keys and reports assume every table lives whole on each node,
// which holds for one shard of replicas only.
func CheckCluster(ctx context.Context, conn driver.Conn, cluster string) error {
	if cluster == "" {
		return nil
	}
	var shards uint64
	err := conn.QueryRow(ctx, "SELECT uniqExact(shard_num) FROM system.clusters WHERE cluster = ?", cluster).Scan(&shards)
	if err != nil {
		return fmt.Errorf("clickhouse.cluster %s: read system.clusters: %w", cluster, err)
	}
	switch {
	case shards == 0:
		return fmt.Errorf("clickhouse.cluster %s is not defined in the server's remote_servers; define it or leave clickhouse.cluster empty", cluster)
	case shards > 1:
		return fmt.Errorf("clickhouse.cluster %s has %d shards; privaudit supports one shard (replicated) until cluster mode is built", cluster, shards)
	}
	return nil
}

// quietHandler filters clickhouse-go's log. Every error clickhouse-go
// logs also returns to its caller, which decides what to log with the
// context it has, so clickhouse-go's records are demoted to debug: a query
// cancelled at shutdown, or an officer's query the server refused, is no
// ERROR of privaudit's. It drops the per-connection "unsupported clickhouse
// version" warning (privaudit supports 18.16 deliberately, SPEC §6, and
// says so once at start instead) and the attributes that carry query text
// or server exception text (sql, query, error), which may quote a customer
// id bound into the query.
type quietHandler struct{ slog.Handler }

func (h quietHandler) Enabled(ctx context.Context, _ slog.Level) bool {
	return h.Handler.Enabled(ctx, slog.LevelDebug)
}

func (h quietHandler) Handle(ctx context.Context, r slog.Record) error {
	if r.Message == "unsupported clickhouse version" {
		return nil
	}
	out := slog.NewRecord(r.Time, min(r.Level, slog.LevelDebug), r.Message, r.PC)
	r.Attrs(func(a slog.Attr) bool {
		if a.Key != "sql" && a.Key != "query" && a.Key != "error" {
			out.AddAttrs(a)
		}
		return true
	})
	return h.Handler.Handle(ctx, out)
}

func (h quietHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return quietHandler{h.Handler.WithAttrs(as)}
}

func (h quietHandler) WithGroup(name string) slog.Handler {
	return quietHandler{h.Handler.WithGroup(name)}
}

// compression picks LZ4 for remote servers; on loopback compressing costs
// CPU on both ends and saves nothing.
func (o Options) compression() *clickhouse.Compression {
	for _, a := range o.Addrs {
		host, _, err := net.SplitHostPort(a)
		if err != nil {
			host = a
		}
		ip := net.ParseIP(host)
		if host != "localhost" && (ip == nil || !ip.IsLoopback()) {
			return &clickhouse.Compression{Method: clickhouse.CompressionLZ4}
		}
	}
	return nil
}
