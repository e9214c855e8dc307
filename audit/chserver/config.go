package chserver

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/template"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
)

var configTmpl = template.Must(template.New("config").Parse(`<?xml version="1.0"?>
<!-- Written by privaudit at every start of its managed ClickHouse; edits are overwritten. -->
<yandex>
  <logger>
    <!-- critical: ClickHouse 18.16 logs every failed query with its full text, bound customer ids
         included, at level error; nothing below critical is written. -->
    <level>critical</level>
    <log>{{.Dir}}/logs/server.log</log>
    <errorlog>{{.Dir}}/logs/err.log</errorlog>
    <size>50M</size>
    <count>3</count>
  </logger>
  <listen_host>127.0.0.1</listen_host>
  <tcp_port>{{.TCPPort}}</tcp_port>
  <http_port>{{.HTTPPort}}</http_port>
  <path>{{.Dir}}/data/</path>
  <tmp_path>{{.Dir}}/tmp/</tmp_path>
  <user_files_path>{{.Dir}}/user_files/</user_files_path>
  <format_schema_path>{{.Dir}}/format_schemas/</format_schema_path>
  <users_config>{{.Dir}}/users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <timezone>UTC</timezone>
  <mark_cache_size>536870912</mark_cache_size>
  <uncompressed_cache_size>268435456</uncompressed_cache_size>
  <max_concurrent_queries>100</max_concurrent_queries>
  <keep_alive_timeout>3</keep_alive_timeout>
</yandex>
`))

var usersTmpl = template.Must(template.New("users").Parse(`<?xml version="1.0"?>
<!-- Written by privaudit at every start of its managed ClickHouse; passwords change at each start. -->
<yandex>
  <profiles>
    <default>
      <max_memory_usage>8000000000</max_memory_usage>
      <log_queries>0</log_queries>
    </default>
    <reader>
      <readonly>1</readonly>
      <log_queries>0</log_queries>
      <max_execution_time>{{.Limits.ExecSeconds}}</max_execution_time>
      <timeout_overflow_mode>throw</timeout_overflow_mode>
      <max_result_rows>{{.Limits.MaxResultRows}}</max_result_rows>
      <max_result_bytes>{{.Limits.MaxResultBytes}}</max_result_bytes>
      <result_overflow_mode>throw</result_overflow_mode>
      <max_memory_usage>{{.Limits.MaxMemoryUsage}}</max_memory_usage>
      <max_rows_to_read>{{.Limits.MaxRowsToRead}}</max_rows_to_read>
      <read_overflow_mode>throw</read_overflow_mode>
      <max_threads>2</max_threads>
      <max_query_size>262144</max_query_size>
      <max_ast_depth>256</max_ast_depth>
      <max_ast_elements>50000</max_ast_elements>
      <max_expanded_ast_elements>100000</max_expanded_ast_elements>
    </reader>
  </profiles>
  <users>
    <{{.AdminUser}}>
      <password_sha256_hex>{{.AdminHash}}</password_sha256_hex>
      <networks><ip>127.0.0.1</ip><ip>::1</ip></networks>
      <profile>default</profile>
      <quota>default</quota>
    </{{.AdminUser}}>
    <{{.ReaderUser}}>
      <password_sha256_hex>{{.ReaderHash}}</password_sha256_hex>
      <networks><ip>127.0.0.1</ip><ip>::1</ip></networks>
      <profile>reader</profile>
      <quota>default</quota>
      <allow_databases><database>{{.Database}}</database></allow_databases>
    </{{.ReaderUser}}>
  </users>
  <quotas>
    <default>
      <interval><duration>3600</duration><queries>0</queries><errors>0</errors><result_rows>0</result_rows><read_rows>0</read_rows><execution_time>0</execution_time></interval>
    </default>
  </quotas>
</yandex>
`))

type limitsView struct {
	ExecSeconds                                   int64
	MaxResultRows, MaxResultBytes, MaxMemoryUsage int64
	MaxRowsToRead                                 int64
}

func writeConfig(opts Options, s *Server, ports []int) error {
	esc := func(v string) string {
		var b strings.Builder
		_ = xml.EscapeText(&b, []byte(v))
		return b.String()
	}
	secs := int64(opts.Limits.MaxExecutionTime / time.Second)
	if secs < 1 {
		secs = 1
	}
	cfg := map[string]any{"Dir": esc(opts.Dir), "TCPPort": ports[0], "HTTPPort": ports[1]}
	users := map[string]any{
		"AdminUser": s.AdminUser, "ReaderUser": s.ReaderUser, "Database": esc(s.Database),
		"AdminHash": sha256Hex(s.AdminPassword), "ReaderHash": sha256Hex(s.ReaderPassword),
		"Limits": limitsView{
			ExecSeconds: secs, MaxResultRows: opts.Limits.MaxResultRows,
			MaxResultBytes: opts.Limits.MaxResultBytes, MaxMemoryUsage: opts.Limits.MaxMemoryUsage,
			MaxRowsToRead: opts.Limits.MaxRowsToRead,
		},
	}
	if err := writeTemplate(filepath.Join(opts.Dir, "config.xml"), configTmpl, cfg); err != nil {
		return err
	}
	return writeTemplate(filepath.Join(opts.Dir, "users.xml"), usersTmpl, users)
}

func writeTemplate(path string, t *template.Template, data any) error {
	f, err := os.OpenFile(path+".tmp", os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("write clickhouse config: %w", err)
	}
	if err := t.Execute(f, data); err != nil {
		f.Close()
		return fmt.Errorf("write clickhouse config %s: %w", filepath.Base(path), err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write clickhouse config: %w", err)
	}
	return os.Rename(path+".tmp", path)
}

func sha256Hex(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

// ping opens one admin connection and runs stmt.
func ping(ctx context.Context, s *Server, stmt string) error {
	conn, err := clickhouse.Open(&clickhouse.Options{
		Addr:        []string{s.Addr},
		Auth:        clickhouse.Auth{Username: s.AdminUser, Password: s.AdminPassword},
		DialTimeout: time.Second,
	})
	if err != nil {
		return err
	}
	defer conn.Close()
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	return conn.Exec(cctx, stmt)
}

// Version is the version string of the running server, e.g. "18.16.1".
func (s *Server) Version(ctx context.Context) (string, error) {
	conn, err := clickhouse.Open(&clickhouse.Options{
		Addr: []string{s.Addr},
		Auth: clickhouse.Auth{Username: s.AdminUser, Password: s.AdminPassword},
	})
	if err != nil {
		return "", err
	}
	defer conn.Close()
	v, err := conn.ServerVersion()
	if err != nil {
		return "", err
	}
	return strconv.FormatUint(v.Version.Major, 10) + "." + strconv.FormatUint(v.Version.Minor, 10) + "." + strconv.FormatUint(v.Version.Patch, 10), nil
}
