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
