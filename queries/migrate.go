package queries

import (
	"context"
	"fmt"
	"io/fs"
	"log/slog"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// Migration is one versioned schema change, an embedded file
// migrations/NNNN_name.sql.
type Migration struct {
	Version int
	Name    string
	Path    string
}

// Migrations lists the embedded migrations in version order.
func Migrations() ([]Migration, error) {
	ents, err := fs.ReadDir(files, "migrations")
	if err != nil {
		return nil, fmt.Errorf("list migrations: %w", err)
	}
	var ms []Migration
	for _, e := range ents {
		base := strings.TrimSuffix(e.Name(), ".sql")
		num, name, ok := strings.Cut(base, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil {
			return nil, fmt.Errorf("migration %s: name must be NNNN_name.sql", e.Name())
		}
		ms = append(ms, Migration{Version: v, Name: name, Path: path.Join("migrations", e.Name())})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].Version < ms[j].Version })
	return ms, nil
}

// Migrate creates the databases and applies every migration not yet recorded
// in MetaDB.schema_migrations, in order. Statements are idempotent (IF NOT
// EXISTS), so two instances migrating at once, or a crash mid-migration,
// leave a correct schema.
func Migrate(ctx context.Context, conn driver.Conn, s Schema, log *slog.Logger) error {
	if err := s.Validate(); err != nil {
		return err
	}
	ms, err := Migrations()
	if err != nil {
		return err
	}
	// A current schema needs no DDL at all: ON CLUSTER statements wait for
	// every node, so running them at each start would stop privaudit from
	// starting while any replica is down.
	if current(ctx, conn, s, ms) {
		return nil
	}
	on := ""
	if s.Cluster != "" {
		on = " ON CLUSTER " + s.Cluster
	}
	boot := []string{
		"CREATE DATABASE IF NOT EXISTS " + s.DB + on,
		"CREATE DATABASE IF NOT EXISTS " + s.MetaDB + on,
		"CREATE TABLE IF NOT EXISTS " + s.MetaDB + ".schema_migrations" + on +
			" (version UInt32, name String, applied_at DateTime) ENGINE = " +
			templateData{DB: s.MetaDB, Schema: s}.Engine("schema_migrations") + " ORDER BY version",
	}
	for _, st := range boot {
		if err := conn.Exec(ctx, st); err != nil {
			return fmt.Errorf("migrate: bootstrap: %w", err)
		}
	}
	applied, err := appliedVersions(ctx, conn, s)
	if err != nil {
		return err
	}
	for _, m := range ms {
		if applied[uint32(m.Version)] {
			continue
		}
		log.Info("applying migration", "version", m.Version, "name", m.Name)
		start := time.Now()
		if err := apply(ctx, conn, s, m); err != nil {
			return err
		}
		log.Info("migration applied", "version", m.Version, "name", m.Name, "took", time.Since(start).Round(time.Millisecond))
	}
	return nil
}

// Current reports whether every embedded migration is recorded as applied
// in the database; false when it cannot tell.
func Current(ctx context.Context, conn driver.Conn, s Schema) bool {
	ms, err := Migrations()
	return err == nil && current(ctx, conn, s, ms)
}

// current reports whether every migration is recorded as applied; false
// when the bookkeeping table does not exist yet.
func current(ctx context.Context, conn driver.Conn, s Schema, ms []Migration) bool {
	if ok, err := TableExists(ctx, conn, s.MetaDB, "schema_migrations"); err != nil || !ok {
		return false
	}
	applied, err := appliedVersions(ctx, conn, s)
	return err == nil && pending(ms, applied) == 0
}

// TableExists reports whether table exists in database db.
func TableExists(ctx context.Context, conn driver.Conn, db, table string) (bool, error) {
	var n uint64
	err := conn.QueryRow(ctx, "SELECT count() FROM system.tables WHERE database = ? AND name = ?", db, table).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("look up table %s.%s: %w", db, table, err)
	}
	return n > 0, nil
}

// appliedVersions reads the versions recorded in MetaDB.schema_migrations.
func appliedVersions(ctx context.Context, conn driver.Conn, s Schema) (map[uint32]bool, error) {
	applied := map[uint32]bool{}
	rows, err := conn.Query(ctx, "SELECT version FROM "+s.MetaDB+".schema_migrations")
	if err != nil {
		return nil, fmt.Errorf("migrate: read applied: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var v uint32
		if err := rows.Scan(&v); err != nil {
			return nil, fmt.Errorf("migrate: read applied: %w", err)
		}
		applied[v] = true
	}
	return applied, rows.Err()
}

// pending counts the migrations not yet applied.
func pending(ms []Migration, applied map[uint32]bool) int {
	n := 0
	for _, m := range ms {
		if !applied[uint32(m.Version)] {
			n++
		}
	}
	return n
}

func apply(ctx context.Context, conn driver.Conn, s Schema, m Migration) error {
	sql, err := Render(files, m.Path, s)
	if err != nil {
		return fmt.Errorf("migration %04d: %w", m.Version, err)
	}
	for i, st := range Statements(sql) {
		if err := conn.Exec(ctx, st); err != nil {
			return fmt.Errorf("migration %04d_%s statement %d: %w", m.Version, m.Name, i+1, err)
		}
	}
	err = conn.Exec(ctx, "INSERT INTO "+s.MetaDB+".schema_migrations (version, name, applied_at) SELECT ?, ?, now()",
		uint32(m.Version), m.Name)
	if err != nil {
		return fmt.Errorf("migration %04d: record: %w", m.Version, err)
	}
	return nil
}
