package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/privaudit/privaudit/audit/retention"
	"github.com/privaudit/privaudit/queries"
	"github.com/privaudit/privaudit/reports/console"
	"github.com/privaudit/privaudit/reports/schedule"
	"github.com/privaudit/privaudit/reports/sqlconsole"
)

// Config is privaudit's one configuration: defaults, then the YAML file
// (PRIVAUDIT_CONFIG or --config), then PRIVAUDIT_* environment variables, then
// flags, then Validate.
type Config struct {
	DataDir string `yaml:"data_dir" env:"DATA_DIR"`
	Listen  string `yaml:"listen" env:"LISTEN"`
	TLSCert string `yaml:"tls_cert" env:"TLS_CERT"`
	TLSKey  string `yaml:"tls_key" env:"TLS_KEY"`
	// PublicURL is where officers reach privaudit; e-mailed reports link
	// their files under it (see schedule.Options.PublicURL).
	PublicURL string `yaml:"public_url" env:"PUBLIC_URL"`
	// Server and Token are what the client commands (ingest, report, query)
	// use to reach a running privaudit.
	Server   string `yaml:"server" env:"SERVER"`
	Token    string `yaml:"token" env:"TOKEN"`
	LogLevel string `yaml:"log_level" env:"LOG_LEVEL"`

	ClickHouse ClickHouseConfig `yaml:"clickhouse"`
	Ingest     IngestConfig     `yaml:"ingest"`
	HTTP       HTTPConfig       `yaml:"http"`
	Query      QueryConfig      `yaml:"query"`
	Console    ConsoleConfig    `yaml:"console"`
	Retention  RetentionConfig  `yaml:"retention"`
	Proof      ProofConfig      `yaml:"proof"`
	// Schedules are the report runs `serve` produces unattended.
	Schedules []schedule.Config `yaml:"schedules"`
}

// ClickHouseConfig says which ClickHouse to use. With no Addr privaudit
// manages its own local server under DataDir.
type ClickHouseConfig struct {
	Addr         []string `yaml:"addr" env:"CLICKHOUSE_ADDR"`
	User         string   `yaml:"user" env:"CLICKHOUSE_USER"`
	Password     string   `yaml:"password" env:"CLICKHOUSE_PASSWORD"`
	TLS          bool     `yaml:"tls" env:"CLICKHOUSE_TLS"`
	Database     string   `yaml:"database" env:"CLICKHOUSE_DATABASE"`
	MetaDatabase string   `yaml:"meta_database" env:"CLICKHOUSE_META_DATABASE"`
	Cluster      string   `yaml:"cluster" env:"CLICKHOUSE_CLUSTER"`
	// ReaderUser/ReaderPassword: the readonly user for ad-hoc SQL on an
	// external server (the managed server creates its own).
	ReaderUser     string `yaml:"reader_user" env:"CLICKHOUSE_READER_USER"`
	ReaderPassword string `yaml:"reader_password" env:"CLICKHOUSE_READER_PASSWORD"`
	// Binary is the clickhouse-server executable of the managed server.
	Binary string `yaml:"binary" env:"CLICKHOUSE_BINARY"`
}

// IngestConfig tunes the intake.
type IngestConfig struct {
	SpoolMaxBytes int64 `yaml:"spool_max_bytes" env:"SPOOL_MAX_BYTES"`
	MaxBodyBytes  int64 `yaml:"max_body_bytes" env:"MAX_BODY_BYTES"`
	// MaxDecompressedBytes limits a gzip request once decompressed.
	MaxDecompressedBytes int64 `yaml:"max_decompressed_bytes" env:"MAX_DECOMPRESSED_BYTES"`
	// MaxInFlightBytes limits the request bodies held in memory at once;
	// past it requests get 503 with Retry-After.
	MaxInFlightBytes int64         `yaml:"max_in_flight_bytes" env:"MAX_IN_FLIGHT_BYTES"`
	BatchRecords     int           `yaml:"batch_records" env:"BATCH_RECORDS"`
	Linger           time.Duration `yaml:"linger" env:"LINGER"`
	RetryAfter       time.Duration `yaml:"retry_after" env:"RETRY_AFTER"`
}

// HTTPConfig bounds the HTTP server's connections (see newHTTPServer).
type HTTPConfig struct {
	ReadHeaderTimeout time.Duration `yaml:"read_header_timeout" env:"HTTP_READ_HEADER_TIMEOUT"`
	// ReadTimeout bounds reading a request body, from its headers to its end.
	ReadTimeout time.Duration `yaml:"read_timeout" env:"HTTP_READ_TIMEOUT"`
	// WriteTimeout bounds each write of a response, not the whole download.
	WriteTimeout time.Duration `yaml:"write_timeout" env:"HTTP_WRITE_TIMEOUT"`
	IdleTimeout  time.Duration `yaml:"idle_timeout" env:"HTTP_IDLE_TIMEOUT"`
}

// QueryConfig sizes ad-hoc SQL: Slots reader connections, at most
// SlotsPerToken of them for one token.
type QueryConfig struct {
	Slots         int `yaml:"slots" env:"QUERY_SLOTS"`
	SlotsPerToken int `yaml:"slots_per_token" env:"QUERY_SLOTS_PER_TOKEN"`
}

// ConsoleConfig sets how long a web console session lasts: it ends after
// IdleTimeout without a request, and MaxAge after sign-in in any case.
type ConsoleConfig struct {
	IdleTimeout time.Duration `yaml:"idle_timeout" env:"CONSOLE_IDLE_TIMEOUT"`
	MaxAge      time.Duration `yaml:"max_age" env:"CONSOLE_MAX_AGE"`
}

// RetentionConfig is each table's retention in months (0 keeps forever)
// and how often `serve` enforces it; see audit/retention for the defaults
// and the 36-month floor of the record tables.
type RetentionConfig struct {
	AccessEventsMonths     int           `yaml:"access_events_months" env:"RETENTION_ACCESS_EVENTS_MONTHS"`
	ConsentEventsMonths    int           `yaml:"consent_events_months" env:"RETENTION_CONSENT_EVENTS_MONTHS"`
	AccessVerdictsMonths   int           `yaml:"access_verdicts_months" env:"RETENTION_ACCESS_VERDICTS_MONTHS"`
	IngestBatchesMonths    int           `yaml:"ingest_batches_months" env:"RETENTION_INGEST_BATCHES_MONTHS"`
	ReportRunsMonths       int           `yaml:"report_runs_months" env:"RETENTION_REPORT_RUNS_MONTHS"`
	ReportDeliveriesMonths int           `yaml:"report_deliveries_months" env:"RETENTION_REPORT_DELIVERIES_MONTHS"`
	Every                  time.Duration `yaml:"every" env:"RETENTION_EVERY"`
}

// Policy is the retention of each table, by table name.
func (r RetentionConfig) Policy() retention.Policy {
	return retention.Policy{"access_events": r.AccessEventsMonths, "consent_events": r.ConsentEventsMonths,
		"access_verdicts": r.AccessVerdictsMonths, "ingest_batches": r.IngestBatchesMonths,
		"report_runs": r.ReportRunsMonths, "report_deliveries": r.ReportDeliveriesMonths}
}

// ProofConfig configures the proof log (README, "Proof").
type ProofConfig struct {
	// Enabled seals every stored record into the proof log (default true).
	Enabled bool `yaml:"enabled" env:"PROOF_ENABLED"`
	// CheckpointInterval is how often a checkpoint is signed while
	// records arrive (default 1m).
	CheckpointInterval time.Duration `yaml:"checkpoint_interval" env:"PROOF_CHECKPOINT_INTERVAL"`
	// KeyFile is the Ed25519 signing key (default DATA_DIR/proof.key, mode 0600).
	KeyFile string `yaml:"key_file" env:"PROOF_KEY_FILE"`
	// ExportDir receives each checkpoint as a file as it is made (default none).
	ExportDir string `yaml:"export_dir" env:"PROOF_EXPORT_DIR"`
	// VerifyInterval is how often serve runs privaudit verify, with its
	// result on /metrics (default 24h; 0 never).
	VerifyInterval time.Duration `yaml:"verify_interval" env:"PROOF_VERIFY_INTERVAL"`
	// ExportWebhook receives each checkpoint as a POST of its signed note
	// (default none).
	ExportWebhook string `yaml:"export_webhook" env:"PROOF_EXPORT_WEBHOOK"`
	// ExportDeliveries name schedules' delivery targets that receive each
	// checkpoint (default none).
	ExportDeliveries []string `yaml:"export_deliveries" env:"PROOF_EXPORT_DELIVERIES"`
}

// DefaultConfig is the configuration before any file, variable or flag.
func DefaultConfig() Config {
	return Config{
		DataDir:  "./privaudit-data",
		Listen:   "127.0.0.1:8700",
		Server:   "http://127.0.0.1:8700",
		LogLevel: "info",
		ClickHouse: ClickHouseConfig{
			Database: queries.DefaultSchema.DB, MetaDatabase: queries.DefaultSchema.MetaDB,
		},
		Ingest: IngestConfig{
			SpoolMaxBytes: 2 << 30, MaxBodyBytes: 64 << 20, BatchRecords: 100_000,
			MaxDecompressedBytes: 256 << 20, MaxInFlightBytes: 512 << 20,
			Linger: time.Second, RetryAfter: 5 * time.Second,
		},
		HTTP: HTTPConfig{ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 10 * time.Minute,
			WriteTimeout: 2 * time.Minute, IdleTimeout: 2 * time.Minute},
		Query:   QueryConfig{Slots: sqlconsole.DefaultMaxQueries, SlotsPerToken: sqlconsole.DefaultMaxQueriesPerToken},
		Console: ConsoleConfig{IdleTimeout: console.DefaultIdleTimeout, MaxAge: console.DefaultMaxAge},
		Retention: RetentionConfig{AccessEventsMonths: retention.DefaultMonths, ConsentEventsMonths: retention.DefaultMonths,
			AccessVerdictsMonths: retention.DefaultMonths, IngestBatchesMonths: retention.DefaultMonths,
			ReportRunsMonths: retention.DefaultMonths, ReportDeliveriesMonths: retention.DefaultMonths, Every: retention.DefaultEvery},
		Proof: ProofConfig{Enabled: true, CheckpointInterval: time.Minute, VerifyInterval: 24 * time.Hour},
	}
}

// LoadConfig builds the configuration from defaults, the YAML file at path
// (if any) and the environment. Flags are applied by the caller afterwards.
func LoadConfig(path string, env func(string) string) (Config, error) {
	c := DefaultConfig()
	if path == "" {
		path = env("PRIVAUDIT_CONFIG")
	}
	if path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return c, fmt.Errorf("config: %w", err)
		}
		dec := yaml.NewDecoder(strings.NewReader(string(b)))
		dec.KnownFields(true)
		if err := dec.Decode(&c); err != nil && !errors.Is(err, io.EOF) {
			return c, fmt.Errorf("config %s: %w", path, err)
		}
	}
	if err := applyEnv(reflect.ValueOf(&c).Elem(), env); err != nil {
		return c, err
	}
	return c, nil
}

func applyEnv(v reflect.Value, env func(string) string) error {
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		f, fv := t.Field(i), v.Field(i)
		if f.Type.Kind() == reflect.Struct {
			if err := applyEnv(fv, env); err != nil {
				return err
			}
			continue
		}
		name := f.Tag.Get("env")
		if name == "" {
			continue
		}
		name = "PRIVAUDIT_" + name
		s := env(name)
		if s == "" {
			continue
		}
		if err := setValue(fv, s); err != nil {
			return fmt.Errorf("config: %s=%q: %w", name, s, err)
		}
	}
	return nil
}

func setValue(fv reflect.Value, s string) error {
	switch fv.Interface().(type) {
	case string:
		fv.SetString(s)
	case []string:
		fv.Set(reflect.ValueOf(splitList(s)))
	case bool:
		b, err := strconv.ParseBool(s)
		if err != nil {
			return err
		}
		fv.SetBool(b)
	case time.Duration:
		d, err := time.ParseDuration(s)
		if err != nil {
			return err
		}
		fv.SetInt(int64(d))
	case int, int64:
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return err
		}
		fv.SetInt(n)
	default:
		return fmt.Errorf("unsupported type %s", fv.Type())
	}
	return nil
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// Flags registers the flags shared by all subcommands on fs.
func (c *Config) Flags(fs *flag.FlagSet) {
	fs.StringVar(&c.DataDir, "data-dir", c.DataDir, "data directory (spool, managed ClickHouse) [PRIVAUDIT_DATA_DIR]")
	fs.StringVar(&c.Server, "server", c.Server, "URL of a running privaudit, for client commands [PRIVAUDIT_SERVER]")
	fs.Var(secretValue{&c.Token}, "token", "API bearer token, for client commands [PRIVAUDIT_TOKEN]")
	fs.StringVar(&c.LogLevel, "log-level", c.LogLevel, "debug, info, warn or error [PRIVAUDIT_LOG_LEVEL]")
}

// secretValue is a string flag whose value — from the file, the environment
// or the command line — is never printed: help and flag errors show no
// default for it.
type secretValue struct{ p *string }

func (s secretValue) String() string { return "" }

func (s secretValue) Set(v string) error { *s.p = v; return nil }

// Validate checks the configuration and makes paths absolute.
func (c *Config) Validate() error {
	var errs []error
	if c.DataDir == "" {
		errs = append(errs, errors.New("data_dir is required"))
	} else if abs, err := filepath.Abs(c.DataDir); err == nil {
		c.DataDir = abs
	}
	if err := c.normalizeServer(); err != nil {
		errs = append(errs, err)
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		errs = append(errs, errors.New("tls_cert and tls_key must be set together"))
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		errs = append(errs, fmt.Errorf("log_level %q: want debug, info, warn or error", c.LogLevel))
	}
	if err := c.Schema().Validate(); err != nil {
		errs = append(errs, err)
	}
	if c.Proof.CheckpointInterval < 0 || c.Proof.VerifyInterval < 0 {
		errs = append(errs, fmt.Errorf("proof.checkpoint_interval %s and proof.verify_interval %s must not be negative (verify_interval 0: never)", c.Proof.CheckpointInterval, c.Proof.VerifyInterval))
	}
	if c.Ingest.SpoolMaxBytes < 1<<20 {
		errs = append(errs, fmt.Errorf("ingest.spool_max_bytes %d: at least 1 MiB", c.Ingest.SpoolMaxBytes))
	}
	if in := c.Ingest; in.MaxInFlightBytes < in.MaxBodyBytes+in.MaxDecompressedBytes {
		errs = append(errs, fmt.Errorf("ingest.max_in_flight_bytes %d: at least ingest.max_body_bytes + ingest.max_decompressed_bytes (%d), so that one request of the limits' size fits",
			in.MaxInFlightBytes, in.MaxBodyBytes+in.MaxDecompressedBytes))
	}
	if c.Ingest.BatchRecords < 1 {
		errs = append(errs, fmt.Errorf("ingest.batch_records %d: at least 1", c.Ingest.BatchRecords))
	}
	if h := c.HTTP; h.ReadHeaderTimeout <= 0 || h.ReadTimeout <= 0 || h.WriteTimeout <= 0 || h.IdleTimeout <= 0 {
		errs = append(errs, fmt.Errorf("http timeouts %+v: each must be positive", h))
	}
	if q := c.Query; q.SlotsPerToken < 1 || q.Slots <= q.SlotsPerToken {
		errs = append(errs, fmt.Errorf("query.slots %d, query.slots_per_token %d: want 1 ≤ slots_per_token < slots, so one token cannot take every slot",
			q.Slots, q.SlotsPerToken))
	}
	if cc := c.Console; cc.IdleTimeout <= 0 || cc.MaxAge < cc.IdleTimeout {
		errs = append(errs, fmt.Errorf("console.idle_timeout %s, console.max_age %s: want 0 < idle_timeout ≤ max_age", cc.IdleTimeout, cc.MaxAge))
	}
	if err := c.Retention.Policy().Validate(); err != nil {
		errs = append(errs, err)
	}
	if c.Retention.Every < time.Minute {
		errs = append(errs, fmt.Errorf("retention.every %s: at least 1m (default %s)", c.Retention.Every, retention.DefaultEvery))
	}
	if err := schedule.Validate(c.Schedules, nil); err != nil {
		errs = append(errs, err)
	}
	if err := schedule.CheckPublicURL(c.PublicURL); err != nil {
		errs = append(errs, err)
	}
	if err := schedule.CheckCheckpointExport(c.Proof.ExportWebhook, c.Proof.ExportDeliveries, c.Schedules); err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return fmt.Errorf("config: %w", errors.Join(errs...))
	}
	return nil
}

// Schema is where privaudit's tables live.
func (c *Config) Schema() queries.Schema {
	return queries.Schema{DB: c.ClickHouse.Database, MetaDB: c.ClickHouse.MetaDatabase, Cluster: c.ClickHouse.Cluster}
}

// normalizeServer accepts a server given without a scheme (127.0.0.1:8700)
// as http://, and refuses any scheme but http and https.
func (c *Config) normalizeServer() error {
	if c.Server == "" {
		return nil // only the client commands need it; they say so
	}
	if !strings.Contains(c.Server, "://") {
		c.Server = "http://" + c.Server
	}
	u, err := url.Parse(c.Server)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("server %q: want a URL like http://127.0.0.1:8700 or https://privaudit.example.com", c.Server)
	}
	return nil
}
