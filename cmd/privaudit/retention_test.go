package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/privaudit/privaudit/audit/auth"
)

func holdCmd(m *Main) func(context.Context, []string) error { return m.hold }

// TestLegalHoldAdminOnlyAndAudited: an officer may not set a legal hold;
// an admin sets, lists and lifts one with the CLI, each change recorded in
// the trail as an access event under the admin's token name (and the
// officer's refused try not at all), and /metrics counts the standing holds.
func TestLegalHoldAdminOnlyAndAudited(t *testing.T) {
	o := startOfficerServer(t)
	var err error
	if o.token["carol"], err = o.srv.tokens.Create(context.Background(), "carol", auth.RoleAdmin); err != nil {
		t.Fatal(err)
	}
	if _, _, err := o.cli(t, "alice", holdCmd, "set", "--subject", "s-1", "--reason", "matter 7"); err == nil ||
		!strings.Contains(err.Error(), "admin") {
		t.Fatalf("an officer's hold set: %v, want a refusal naming the admin role", err)
	}
	out, stderr, err := o.cli(t, "carol", holdCmd, "set", "--subject", "s-1", "--reason", "matter 7")
	if err != nil {
		t.Fatalf("hold set: %v\n%s", err, stderr)
	}
	var h struct {
		ID   string `json:"hold_id"`
		Kind string `json:"kind"`
		By   string `json:"set_by"`
	}
	if err := json.Unmarshal([]byte(out), &h); err != nil || h.ID == "" || h.Kind != "subject" || h.By != "carol" {
		t.Fatalf("hold set answered %s (%v)", out, err)
	}
	if out, _, err := o.cli(t, "carol", holdCmd, "set", "--from", "2024-01-01", "--to", "2024-02-01", "--reason", "inquiry"); err != nil ||
		!strings.Contains(out, `"period"`) {
		t.Fatalf("period hold set: %v\n%s", err, out)
	}
	// serve ran the retention job at start: its last run is set.
	for deadline := time.Now().Add(90 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		_, body := o.read(t, "GET", "/metrics", "alice", "")
		if strings.Contains(body, "privaudit_legal_holds 2") && !strings.Contains(body, "privaudit_retention_last_run_unixtime 0") &&
			strings.Contains(body, "privaudit_retention_last_run_unixtime ") && strings.Contains(body, "privaudit_retention_partitions_dropped_total 0") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/metrics lacks 2 standing holds or a retention run:\n%s", grepLines(body, "privaudit_retention", "privaudit_legal"))
		}
	}
	if out, _, err := o.cli(t, "carol", holdCmd, "list"); err != nil || !strings.Contains(out, h.ID) {
		t.Fatalf("hold list: %v\n%s", err, out)
	}
	if _, _, err := o.cli(t, "alice", holdCmd, "lift", "--id", h.ID, "--reason", "closed"); err == nil {
		t.Fatal("an officer lifted a legal hold")
	}
	if out, _, err := o.cli(t, "carol", holdCmd, "lift", "--id", h.ID, "--reason", "closed"); err != nil || !strings.Contains(out, `"lifted": true`) {
		t.Fatalf("hold lift: %v\n%s", err, out)
	}
	o.waitCount(t, "SELECT count() FROM access_events WHERE purpose = 'audit_legal_hold' AND actor_id = 'carol'", 3)
	o.waitCount(t, "SELECT count() FROM access_events WHERE purpose = 'audit_legal_hold' AND actor_id = 'carol' AND subject_id = 's-1' AND request_id = '"+h.ID+"'", 2)
	o.waitCount(t, "SELECT count() FROM access_events WHERE purpose = 'audit_legal_hold' AND actor_id != 'carol'", 0)
}

// grepLines returns the lines of s containing one of subs.
func grepLines(s string, subs ...string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		for _, sub := range subs {
			if strings.Contains(l, sub) {
				out = append(out, l)
				break
			}
		}
	}
	return strings.Join(out, "\n")
}

// TestConfigRefusesShortRetention: a record table kept less than 36 months
// in the configuration file is refused, naming the setting and the rule.
func TestConfigRefusesShortRetention(t *testing.T) {
	path := filepath.Join(t.TempDir(), "privaudit.yaml")
	if err := os.WriteFile(path, []byte("retention:\n  access_events_months: 24\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := LoadConfig(path, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	err = c.Validate()
	if err == nil || !strings.Contains(err.Error(), "retention.access_events_months 24") || !strings.Contains(err.Error(), "12 CFR 1033.441") {
		t.Fatalf("Validate: %v, want a refusal naming retention.access_events_months and 12 CFR 1033.441", err)
	}
	if d := DefaultConfig(); d.Retention.AccessEventsMonths < 36 || d.Validate() != nil {
		t.Fatalf("default retention %+v", d.Retention)
	}
}
