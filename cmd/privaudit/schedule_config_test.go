package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestServeRefusesUnknownScheduleReport: a schedule naming a report the
// catalog lacks is refused before ClickHouse or the spools start.
func TestServeRefusesUnknownScheduleReport(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	cfg := "data_dir: " + data + "\nlisten: 127.0.0.1:0\nschedules:\n" +
		"  - {name: nightly, cron: \"0 2 * * *\", report: disclosure, period: previous_day}\n"
	path := filepath.Join(dir, "privaudit.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var stdout, stderr bytes.Buffer
	err := run(ctx, []string{"serve", "--config", path}, &stdout, &stderr)
	if err == nil || !strings.Contains(err.Error(), `schedule nightly: unknown report "disclosure"`) {
		t.Errorf("serve with an unknown report: %v", err)
	}
	if ents, _ := os.ReadDir(data); len(ents) != 0 {
		var names []string
		for _, e := range ents {
			names = append(names, e.Name())
		}
		t.Errorf("the data folder was used before the configuration was refused: %v", names)
	}
}

// TestServeRefusesBadDelivery: a delivery target whose secret file cannot
// be read is refused at start, naming the schedule, target and field.
func TestServeRefusesBadDelivery(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "no-such-secret")
	cfg := "data_dir: " + filepath.Join(dir, "data") + "\nlisten: 127.0.0.1:0\npublic_url: https://privaudit.bank.example\nschedules:\n" +
		"  - name: nightly\n    cron: \"0 2 * * *\"\n    report: disclosures\n    period: previous_day\n    deliver:\n" +
		"      - {name: siem, type: webhook, url: \"https://siem.bank.example/hook\", secret_file: " + missing + "}\n"
	path := filepath.Join(dir, "privaudit.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var stdout, stderr bytes.Buffer
	err := run(ctx, []string{"serve", "--config", path}, &stdout, &stderr)
	if err == nil || !strings.Contains(err.Error(), "schedule nightly: deliver[0] (siem): secret_file: open "+missing) {
		t.Errorf("serve with an unreadable webhook secret: %v", err)
	}
}
