package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"path/filepath"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/privaudit/privaudit/audit/chserver"
	"github.com/privaudit/privaudit/audit/chwire"
	"github.com/privaudit/privaudit/audit/store"
)

// storage is an open ClickHouse: the managed local server (when no address
// is configured) or an external one, migrated and connected.
type storage struct {
	Conn    driver.Conn
	Managed *chserver.Server
	// Reader is how ad-hoc SQL connects (the readonly user).
	ReaderUser, ReaderPassword string
	Addrs                      []string
	// Scan reaches the same server over the native protocol for verify's
	// scan of every stored record.
	Scan chwire.Options
	// Lease is the writer lease, held by `serve` only (see takeLease).
	Lease *store.Lease
}

// openStorage starts or connects to ClickHouse and applies migrations.
func (m *Main) openStorage(ctx context.Context) (*storage, error) {
	c := m.Config.ClickHouse
	st := &storage{Addrs: c.Addr, ReaderUser: c.ReaderUser, ReaderPassword: c.ReaderPassword}
	opts := store.Options{Addrs: c.Addr, User: c.User, Password: c.Password, Logger: m.Log}
	if c.TLS {
		opts.TLS = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	if len(c.Addr) == 0 {
		srv, err := chserver.Start(ctx, chserver.Options{Dir: filepath.Join(m.Config.DataDir, "clickhouse"),
			Binary: c.Binary, Database: c.Database, Logger: m.Log})
		if err != nil {
			return nil, fmt.Errorf("managed clickhouse: %w", err)
		}
		st.Managed = srv
		st.Addrs = []string{srv.Addr}
		st.ReaderUser, st.ReaderPassword = srv.ReaderUser, srv.ReaderPassword
		opts.Addrs, opts.User, opts.Password = []string{srv.Addr}, srv.AdminUser, srv.AdminPassword
	}
	conn, err := store.Open(ctx, opts)
	if err != nil {
		st.Close()
		return nil, err
	}
	st.Conn = conn
	st.Scan = opts.Scan()
	if err := store.CheckCluster(ctx, conn, m.Config.ClickHouse.Cluster); err != nil {
		st.Close()
		return nil, err
	}
	if err := store.Migrate(ctx, conn, m.Config.Schema(), m.Log); err != nil {
		st.Close()
		return nil, err
	}
	return st, nil
}

// takeLease makes this process the one instance writing the database; a
// second `serve` on the same database is refused, naming the first.
func (m *Main) takeLease(ctx context.Context, st *storage, instance string) error {
	l, err := store.TakeLease(ctx, store.LeaseOptions{Conn: st.Conn, Schema: m.Config.Schema(), Holder: instance, Logger: m.Log})
	if err != nil {
		return err
	}
	st.Lease = l
	return nil
}

// Close releases the lease, disconnects and stops a managed server.
func (st *storage) Close() {
	if st.Lease != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		st.Lease.Release(ctx)
		cancel()
	}
	if st.Conn != nil {
		st.Conn.Close()
	}
	if st.Managed != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = st.Managed.Stop(ctx)
	}
}
