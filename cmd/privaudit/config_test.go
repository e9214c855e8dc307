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
