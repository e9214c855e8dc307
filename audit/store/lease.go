package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/privaudit/privaudit/queries"
)

// writerLease is the name of the lease held by the instance that writes
// the database (ingest and schedules).
const writerLease = "writer"

// defaultLeaseTTL is LeaseOptions.TTL's default.
const defaultLeaseTTL = 30 * time.Second

// LeaseOptions configure TakeLease.
type LeaseOptions struct {
	Conn   driver.Conn
	Schema queries.Schema
	// Holder names this instance (e.g. the ingest instance id).
	Holder string
	// TTL is how long a lease lives without renewal (default 30s); it is
	// renewed every TTL/3.
	TTL    time.Duration
	Logger *slog.Logger
}

// Lease is the writer lease, held by one privaudit instance per database.
type Lease struct {
	o                  LeaseOptions
	host               string
	readSQL, writeSQL  string
	lost               chan struct{}
	lostOnce, stopOnce sync.Once
	stop, done         chan struct{}
}

// leaseHolder is a lease row as read back.
type leaseHolder struct {
	Holder, Host string
	Pid          uint32
	Expires      time.Time
	// Live is whether the lease is unexpired; Released, whether its holder
	// ended it (Release) rather than stopped renewing it.
	Live, Released bool
}

// TakeLease takes the writer lease, or refuses naming the live holder. A
// stale lease (not renewed in time) is taken over. The lease is renewed in
// the background until Release; Lost is closed should another instance
// hold it at a renewal.
func TakeLease(ctx context.Context, o LeaseOptions) (*Lease, error) {
	if o.TTL <= 0 {
		o.TTL = defaultLeaseTTL
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	l := &Lease{o: o, lost: make(chan struct{}), stop: make(chan struct{}), done: make(chan struct{})}
	l.host, _ = os.Hostname()
	var err error
	if l.readSQL, err = queries.Ingest("lease_read", o.Schema); err != nil {
		return nil, err
	}
	if l.writeSQL, err = queries.Ingest("lease_write", o.Schema); err != nil {
		return nil, err
	}
	cur, err := l.read(ctx)
	if err != nil {
		return nil, err
	}
	if err := l.refuseOther(cur); err != nil {
		return nil, err
	}
	if cur != nil && cur.Holder != o.Holder && !cur.Released {
		o.Logger.Warn("taking over the writer lease of an instance that stopped renewing it", "holder", cur.Holder, "host", cur.Host, "pid", cur.Pid, "expired", cur.Expires)
	}
	if err := l.write(ctx, o.TTL); err != nil {
		return nil, err
	}
	// Two instances taking the lease at once: the later row wins.
	if cur, err = l.read(ctx); err != nil {
		return nil, err
	}
	if err := l.refuseOther(cur); err != nil {
		return nil, err
	}
	go l.renew()
	return l, nil
}

// refuseOther is the refusal when cur is a live lease held by another.
func (l *Lease) refuseOther(cur *leaseHolder) error {
	if cur == nil || !cur.Live || cur.Holder == l.o.Holder {
		return nil
	}
	if cur.Host == l.host && !processAlive(cur.Pid) {
		return nil // its holder on this host died (kill -9) without releasing it
	}
	return fmt.Errorf("another privaudit writes database %s: instance %s on host %s, pid %d, holds the writer lease until %s UTC; "+
		"stop it, or start this one after its lease expires (a running instance renews it every %s)",
		l.o.Schema.DB, cur.Holder, cur.Host, cur.Pid, cur.Expires.UTC().Format(time.DateTime), l.o.TTL/3)
}

// refuseLiveWriter refuses to migrate a database while another instance
// holds the writer lease: that instance goes on writing as its own version
// does, and a migration that copies what it wrote (0110, 0120) would miss
// what it writes after the copy.
func refuseLiveWriter(ctx context.Context, conn driver.Conn, s queries.Schema) error {
	ok, err := queries.TableExists(ctx, conn, s.MetaDB, "instance_lease")
	if err != nil || !ok {
		return err
	}
	l := &Lease{o: LeaseOptions{Conn: conn, Schema: s, TTL: defaultLeaseTTL}}
	l.host, _ = os.Hostname()
	if l.readSQL, err = queries.Ingest("lease_read", s); err != nil {
		return err
	}
	cur, err := l.read(ctx)
	if err != nil {
		return err
	}
	if err := l.refuseOther(cur); err != nil {
		return fmt.Errorf("this privaudit has schema migrations to apply, and they must not run while another instance writes: %w", err)
	}
	return nil
}

// processAlive reports whether a process with this pid runs on this host.
func processAlive(pid uint32) bool {
	err := syscall.Kill(int(pid), 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

func (l *Lease) read(ctx context.Context) (*leaseHolder, error) {
	rows, err := l.o.Conn.Query(ctx, l.readSQL, writerLease)
	if err != nil {
		return nil, fmt.Errorf("read writer lease: %w", err)
	}
	defer rows.Close()
	if !rows.Next() {
		return nil, rows.Err()
	}
	var h leaseHolder
	var live, released uint8
	if err := rows.Scan(&h.Holder, &h.Host, &h.Pid, &h.Expires, &live, &released); err != nil {
		return nil, fmt.Errorf("read writer lease: %w", err)
	}
	h.Live, h.Released = live == 1, released == 1
	return &h, nil
}

func (l *Lease) write(ctx context.Context, ttl time.Duration) error {
	err := l.o.Conn.Exec(ctx, l.writeSQL, writerLease, l.o.Holder, l.host, uint32(os.Getpid()),
		int64(ttl/time.Second), uint64(time.Now().UnixNano()))
	if err != nil {
		return fmt.Errorf("write writer lease: %w", err)
	}
	return nil
}

// renew keeps the lease alive until Release; a failed renewal is retried at
// the next tick (the lease survives two missed renewals).
func (l *Lease) renew() {
	defer close(l.done)
	t := time.NewTicker(l.o.TTL / 3)
	defer t.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), l.o.TTL/3)
		cur, err := l.read(ctx)
		if err == nil {
			if err = l.refuseOther(cur); err != nil {
				cancel()
				l.o.Logger.Error("writer lease lost", "err", err)
				l.lostOnce.Do(func() { close(l.lost) })
				return
			}
			err = l.write(ctx, l.o.TTL)
		}
		cancel()
		if err != nil {
			l.o.Logger.Warn("writer lease not renewed; retrying", "err", err)
		}
	}
}

// Lost is closed when another instance took the lease over.
func (l *Lease) Lost() <-chan struct{} { return l.lost }

// Release stops renewing and ends the lease, so a successor need not wait
// for it to expire.
func (l *Lease) Release(ctx context.Context) {
	l.stopOnce.Do(func() { close(l.stop) })
	<-l.done
	select {
	case <-l.lost:
		return
	default:
	}
	if err := l.write(ctx, 0); err != nil {
		l.o.Logger.Warn("release writer lease", "err", err)
	}
}
