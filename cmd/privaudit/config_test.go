package main

import (
	"strings"
	"testing"
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
