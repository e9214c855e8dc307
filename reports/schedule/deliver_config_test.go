package schedule

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// TestValidateDeliver: faulty delivery targets are refused at start, each
// error naming the schedule, the target and the field.
func TestValidateDeliver(t *testing.T) {
	dir := t.TempDir()
	pw := filepath.Join(dir, "pw")
	if err := os.WriteFile(pw, []byte("secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	unreadable := filepath.Join(dir, "missing")
	mail := func(edit func(t *Target)) Target {
		tg := Target{Type: TargetEmail, Host: "smtp.bank.example", Username: "u", PasswordFile: pw,
			From: "privaudit@bank.example", To: []string{"dpo@bank.example"}}
		edit(&tg)
		return tg
	}
	hook := func(edit func(t *Target)) Target {
		tg := Target{Type: TargetWebhook, URL: "https://siem.bank.example/hook", SecretFile: pw}
		edit(&tg)
		return tg
	}
	t.Setenv("PRIVAUDIT_EMPTY_SECRET", "")
	for _, c := range []struct {
		name   string
		target Target
		want   string
	}{
		{"ok-mail", mail(func(*Target) {}), ""},
		{"ok-hook", hook(func(*Target) {}), ""},
		{"ok-none-loopback", mail(func(t *Target) { t.Host, t.TLS, t.Username, t.PasswordFile = "::1", TLSNone, "", "" }), ""},
		{"bad-type", Target{Type: "sms"}, `deliver[0] (sms-1): type "sms": unknown target type; want email or webhook`},
		{"no-type", Target{Host: "x"}, "type is required"},
		{"no-rcpt", mail(func(t *Target) { t.To = nil }), "deliver[0] (email-1): to: at least one recipient is required"},
		{"bad-rcpt", mail(func(t *Target) { t.To = []string{"not an address"} }), `to "not an address": not an e-mail address`},
		{"bad-tls", mail(func(t *Target) { t.TLS = "ssl" }), `deliver[0] (email-1): tls "ssl": want starttls`},
		{"none-remote", mail(func(t *Target) { t.TLS = TLSNone }), `tls none: host "smtp.bank.example" is not a loopback address`},
		{"unreadable", mail(func(t *Target) { t.PasswordFile = unreadable }), "deliver[0] (email-1): password_file: open " + unreadable},
		{"two-secrets", mail(func(t *Target) { t.PasswordEnv = "X" }), "password_file and password_env are both set"},
		{"empty-env", mail(func(t *Target) { t.PasswordFile, t.PasswordEnv = "", "PRIVAUDIT_EMPTY_SECRET" }), "environment variable PRIVAUDIT_EMPTY_SECRET is not set or empty"},
		{"no-user", mail(func(t *Target) { t.Username = "" }), "auth none takes no username or password"},
		{"bad-auth", mail(func(t *Target) { t.Auth = "cram-md5" }), `auth "cram-md5": want plain, login or none`},
		{"bad-ca", mail(func(t *Target) { t.CAFile = pw }), "ca_file " + pw + ": no PEM certificate"},
		{"mixed", mail(func(t *Target) { t.URL = "https://x" }), "url, secret_file and secret_env are webhook fields"},
		{"hook-http", hook(func(t *Target) { t.URL = "http://siem.bank.example/hook" }), "http only to a loopback host"},
		{"hook-secret", hook(func(t *Target) { t.SecretFile = unreadable }), "deliver[0] (webhook-1): secret_file: open " + unreadable},
		{"hook-no-secret", hook(func(t *Target) { t.SecretFile = "" }), "secret_file or secret_env is required"},
		{"huge-attach", mail(func(t *Target) { t.AttachLimit = 1 << 30 }), "attach_limit 1073741824: from 0"},
		{"attempts", hook(func(t *Target) { t.MaxAttempts = 50 }), "max_attempts 50: between 1 and 10"},
	} {
		c0 := cfg(c.name)
		c0.Deliver = []Target{c.target}
		err := Validate([]Config{c0}, nil)
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s: %v", c.name, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), "schedule "+c.name+": ") || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%s: error %v, want it to name the schedule and contain %q", c.name, err, c.want)
		}
		if err != nil && strings.Contains(err.Error(), "secret\n") {
			t.Errorf("%s: the error shows the secret: %v", c.name, err)
		}
	}
	c0 := cfg("twice")
	c0.Deliver = []Target{hook(func(t *Target) { t.Name = "a" }), hook(func(t *Target) { t.Name = "a" })}
	if err := Validate([]Config{c0}, nil); err == nil || !strings.Contains(err.Error(), "deliver[1] (a): name is used twice") {
		t.Errorf("duplicate target: %v", err)
	}
	v := Config{Name: "check", Cron: "@daily", Verify: "verdicts", Period: PreviousDay, Deliver: []Target{hook(func(*Target) {})}}
	if err := Validate([]Config{v}, nil); err == nil || !strings.Contains(err.Error(), "a verify schedule writes no file") {
		t.Errorf("verify with deliver: %v", err)
	}
	if err := CheckPublicURL("privaudit.bank.example"); err == nil || !strings.Contains(err.Error(), "public_url") {
		t.Errorf("public_url without scheme: %v", err)
	}
}

// TestDeliverYAML: the deliver list reads from the configuration as the
// README shows it, and a misspelt field is refused by name.
func TestDeliverYAML(t *testing.T) {
	t.Setenv("SMTP_PASSWORD", "pw")
	t.Setenv("SIEM_HOOK_SECRET", "k")
	src := `
name: nightly
cron: "0 2 * * *"
report: disclosures
period: previous_day
formats: [xlsx]
deliver:
  - name: officers
    type: email
    host: smtp.bank.example
    port: 587
    tls: starttls
    username: privaudit
    password_env: SMTP_PASSWORD
    from: "privaudit <privaudit@bank.example>"
    to: [dpo@bank.example, compliance@bank.example]
    attach_limit: 10485760
  - name: siem
    type: webhook
    url: https://siem.bank.example/hooks/privaudit
    secret_env: SIEM_HOOK_SECRET
`
	var c Config
	dec := yaml.NewDecoder(strings.NewReader(src))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil {
		t.Fatal(err)
	}
	if err := Validate([]Config{c}, nil); err != nil {
		t.Fatal(err)
	}
	if len(c.Deliver) != 2 || c.Deliver[0].To[1] != "compliance@bank.example" || c.Deliver[1].URL == "" {
		t.Errorf("decoded %+v", c.Deliver)
	}
	dec = yaml.NewDecoder(strings.NewReader(strings.Replace(src, "secret_env:", "secret_envv:", 1)))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err == nil || !strings.Contains(err.Error(), "secret_envv") {
		t.Errorf("misspelt field: %v", err)
	}
}
