package main

import (
	"strings"
	"testing"

	"github.com/privaudit/privaudit/reports/schedule"
)

// TestConfigInFlightLimit checks the ingest memory limits' defaults, their
// environment variables, and that Validate refuses an in-flight limit too
// small for one request of the size limits, naming the settings.
func TestConfigInFlightLimit(t *testing.T) {
	env := map[string]string{"PRIVAUDIT_MAX_IN_FLIGHT_BYTES": "100000000"}
	c, err := LoadConfig("", func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if c.Ingest.MaxInFlightBytes != 100_000_000 || c.Ingest.MaxDecompressedBytes != 256<<20 {
		t.Fatalf("ingest limits %+v", c.Ingest)
	}
	err = c.Validate()
	if err == nil || !strings.Contains(err.Error(), "ingest.max_in_flight_bytes") || !strings.Contains(err.Error(), "ingest.max_decompressed_bytes") {
		t.Fatalf("Validate: %v, want a refusal naming ingest.max_in_flight_bytes", err)
	}
	d := DefaultConfig()
	if err := d.Validate(); err != nil {
		t.Fatalf("defaults: %v", err)
	}
}

// TestServerWithoutScheme: a server given as host:port is taken as
// http://host:port; another scheme, or no host, is refused by name.
func TestServerWithoutScheme(t *testing.T) {
	for _, c := range []struct{ in, want, err string }{
		{"127.0.0.1:8700", "http://127.0.0.1:8700", ""},
		{"privaudit.example.com", "http://privaudit.example.com", ""},
		{"https://privaudit.example.com/", "https://privaudit.example.com/", ""},
		{"ftp://privaudit.example.com", "", `server "ftp://privaudit.example.com"`},
		{"http://", "", `server "http://"`},
	} {
		cfg := DefaultConfig()
		cfg.Server = c.in
		err := cfg.Validate()
		switch {
		case c.err == "" && (err != nil || cfg.Server != c.want):
			t.Errorf("%s: server %q, err %v; want %q", c.in, cfg.Server, err, c.want)
		case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
			t.Errorf("%s: err %v, want one naming %s", c.in, err, c.err)
		}
	}
}

// TestConfigCheckpointExport: proof.export_webhook must be an https URL
// (http to loopback only) and proof.export_deliveries must name delivery
// targets of the schedules; the refusal names the known ones.
func TestConfigCheckpointExport(t *testing.T) {
	c := DefaultConfig()
	c.Schedules = []schedule.Config{{Name: "daily", Cron: "0 2 * * *", Report: "disclosures", Period: schedule.PreviousDay,
		Deliver: []schedule.Target{{Name: "audit-mail", Type: schedule.TargetEmail, Host: "127.0.0.1", TLS: schedule.TLSNone,
			From: "privaudit@bank.example", To: []string{"audit@bank.example"}}}}}
	c.Proof.ExportWebhook = "http://checkpoints.bank.example/in"
	c.Proof.ExportDeliveries = []string{"audit-mial"}
	err := c.Validate()
	if err == nil || !strings.Contains(err.Error(), "proof.export_webhook") ||
		!strings.Contains(err.Error(), `no delivery target named "audit-mial"; the schedules' targets are audit-mail`) {
		t.Fatalf("Validate: %v; want the webhook and the unknown target refused, naming audit-mail", err)
	}
	c.Proof.ExportWebhook, c.Proof.ExportDeliveries = "https://checkpoints.bank.example/in", []string{"audit-mail"}
	if err := c.Validate(); err != nil {
		t.Fatalf("a valid export: %v", err)
	}
}
