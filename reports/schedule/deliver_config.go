package schedule

import (
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/mail"
	"net/url"
	"os"
	"strings"
)

// Delivery target types.
const (
	TargetEmail   = "email"   // SMTP, the run's files attached or linked
	TargetWebhook = "webhook" // an HTTP POST of the run record, HMAC-SHA256 signed
)

// TLS modes of an e-mail target.
const (
	TLSStartTLS = "starttls" // plain connection upgraded by STARTTLS (port 587); the default
	TLSImplicit = "tls"      // TLS from the first byte (port 465)
	TLSNone     = "none"     // no encryption: only to a loopback host
)

// DefaultAttachLimit is the total size of the files an e-mail attaches when
// its target sets no attach_limit; past it, files are linked.
const DefaultAttachLimit = 10 << 20

// MaxAttachLimit bounds attach_limit: a message is built in memory, and
// mail servers refuse far smaller ones.
const MaxAttachLimit = 100 << 20

// DefaultMaxAttempts is how many times a delivery is tried at most when its
// target sets no max_attempts.
const DefaultMaxAttempts = 5

// Target is one delivery target of a schedule (its `deliver:` list): where
// a successful run's files go. Secrets are never inline: they are read,
// at each delivery, from a file or an environment variable.
type Target struct {
	// Name identifies the target in the run's delivery record; default
	// TYPE-N (email-1, webhook-2: N is its position in the list).
	Name string `yaml:"name" json:"name"`
	// Type is email or webhook.
	Type string `yaml:"type" json:"type"`
	// MaxAttempts bounds the tries of one delivery (1–10; default 5).
	MaxAttempts int `yaml:"max_attempts" json:"max_attempts,omitempty"`

	// Host and Port of the SMTP server; the port defaults to 587 for
	// starttls, 465 for tls and 25 for none.
	Host string `yaml:"host" json:"-"`
	Port int    `yaml:"port" json:"-"`
	// TLS is starttls (default), tls (implicit) or none (loopback only).
	TLS string `yaml:"tls" json:"-"`
	// CAFile holds PEM certificates trusted for the server instead of the
	// system's (a private CA).
	CAFile string `yaml:"ca_file" json:"-"`
	// Auth is plain or login (default plain when a username is given), or
	// none.
	Auth         string `yaml:"auth" json:"-"`
	Username     string `yaml:"username" json:"-"`
	PasswordFile string `yaml:"password_file" json:"-"`
	PasswordEnv  string `yaml:"password_env" json:"-"`
	// From is the sender address; To the recipients.
	From string   `yaml:"from" json:"-"`
	To   []string `yaml:"to" json:"-"`
	// AttachLimit is the total size in bytes of the files attached; files
	// past it are linked instead (default DefaultAttachLimit).
	AttachLimit int64 `yaml:"attach_limit" json:"-"`

	// URL of the webhook: https, or http to a loopback host.
	URL string `yaml:"url" json:"-"`
	// SecretFile or SecretEnv holds the webhook's HMAC key.
	SecretFile string `yaml:"secret_file" json:"-"`
	SecretEnv  string `yaml:"secret_env" json:"-"`
}

// target is a checked Target.
type target struct {
	cfg   Target
	roots *x509.CertPool // nil: the system's
}

// compileTargets checks a schedule's deliver list and fills defaults.
func compileTargets(ts []Target) ([]*target, error) {
	var errs []error
	var out []*target
	seen := map[string]bool{}
	for i, t := range ts {
		if t.Name == "" && t.Type != "" {
			t.Name = fmt.Sprintf("%s-%d", t.Type, i+1)
		}
		ct, err := compileTarget(t)
		if err == nil && seen[t.Name] {
			err = errors.New("name is used twice; give each target its own name")
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("deliver[%d] (%s): %w", i, t.Name, err))
			continue
		}
		seen[t.Name] = true
		out = append(out, ct)
	}
	return out, errors.Join(errs...)
}

func compileTarget(t Target) (*target, error) {
	if t.Name != "" && !nameRE.MatchString(t.Name) {
		return nil, fmt.Errorf("name %q: use lower-case letters, digits, '-' and '_'", t.Name)
	}
	if t.MaxAttempts == 0 {
		t.MaxAttempts = DefaultMaxAttempts
	}
	if t.MaxAttempts < 1 || t.MaxAttempts > 10 {
		return nil, fmt.Errorf("max_attempts %d: between 1 and 10 (0: default %d)", t.MaxAttempts, DefaultMaxAttempts)
	}
	switch t.Type {
	case TargetEmail:
		return compileEmail(t)
	case TargetWebhook:
		return compileWebhook(t)
	case "":
		return nil, errors.New("type is required: email or webhook")
	}
	return nil, fmt.Errorf("type %q: unknown target type; want email or webhook", t.Type)
}

func compileEmail(t Target) (*target, error) {
	if t.URL != "" || t.SecretFile != "" || t.SecretEnv != "" {
		return nil, errors.New("url, secret_file and secret_env are webhook fields; an email target has host, from, to")
	}
	ports := map[string]int{TLSStartTLS: 587, TLSImplicit: 465, TLSNone: 25}
	if t.TLS == "" {
		t.TLS = TLSStartTLS
	}
	if _, ok := ports[t.TLS]; !ok {
		return nil, fmt.Errorf("tls %q: want starttls (port 587), tls (implicit, port 465) or none (loopback hosts only)", t.TLS)
	}
	if t.Host == "" {
		return nil, errors.New("host is required: the SMTP server's name")
	}
	if t.TLS == TLSNone && !isLoopback(t.Host) {
		return nil, fmt.Errorf("tls none: host %q is not a loopback address; mail leaves the machine only encrypted (use starttls or tls)", t.Host)
	}
	if t.Port == 0 {
		t.Port = ports[t.TLS]
	}
	if t.Port < 1 || t.Port > 65535 {
		return nil, fmt.Errorf("port %d: between 1 and 65535", t.Port)
	}
	if err := checkAuth(&t); err != nil {
		return nil, err
	}
	if _, err := mail.ParseAddress(t.From); err != nil {
		return nil, fmt.Errorf("from %q: not an e-mail address (%v)", t.From, err)
	}
	if len(t.To) == 0 {
		return nil, errors.New("to: at least one recipient is required")
	}
	for _, a := range t.To {
		if _, err := mail.ParseAddress(a); err != nil {
			return nil, fmt.Errorf("to %q: not an e-mail address (%v)", a, err)
		}
	}
	if t.AttachLimit < 0 || t.AttachLimit > MaxAttachLimit {
		return nil, fmt.Errorf("attach_limit %d: from 0 (default %d bytes) to %d; larger files are linked", t.AttachLimit, DefaultAttachLimit, MaxAttachLimit)
	}
	if t.AttachLimit == 0 {
		t.AttachLimit = DefaultAttachLimit
	}
	ct := &target{cfg: t}
	if t.CAFile != "" {
		pem, err := os.ReadFile(t.CAFile)
		if err != nil {
			return nil, fmt.Errorf("ca_file: %w", err)
		}
		ct.roots = x509.NewCertPool()
		if !ct.roots.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("ca_file %s: no PEM certificate in it", t.CAFile)
		}
	}
	return ct, nil
}

// checkAuth checks an e-mail target's authentication and its password.
func checkAuth(t *Target) error {
	if t.Auth == "" {
		t.Auth = "none"
		if t.Username != "" {
			t.Auth = "plain"
		}
	}
	switch t.Auth {
	case "none":
		if t.Username != "" || t.PasswordFile != "" || t.PasswordEnv != "" {
			return errors.New("auth none takes no username or password; set auth: plain or login")
		}
		return nil
	case "plain", "login":
	default:
		return fmt.Errorf("auth %q: want plain, login or none", t.Auth)
	}
	if t.Username == "" {
		return fmt.Errorf("auth %s: username is required", t.Auth)
	}
	if _, err := readSecret("password", t.PasswordFile, t.PasswordEnv); err != nil {
		return err
	}
	return nil
}

func compileWebhook(t Target) (*target, error) {
	if t.Host != "" || t.From != "" || len(t.To) > 0 || t.Username != "" || t.PasswordFile != "" || t.PasswordEnv != "" ||
		t.TLS != "" || t.Auth != "" || t.CAFile != "" || t.Port != 0 || t.AttachLimit != 0 {
		return nil, errors.New("host, port, tls, ca_file, auth, username, password_*, from, to and attach_limit are email fields; a webhook target has url and secret_file or secret_env")
	}
	if err := checkWebhookURL(t.URL); err != nil {
		return nil, err
	}
	if _, err := readSecret("secret", t.SecretFile, t.SecretEnv); err != nil {
		return nil, err
	}
	return &target{cfg: t}, nil
}

// checkWebhookURL checks a webhook's address: absolute https, or http to
// a loopback host.
func checkWebhookURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return fmt.Errorf("url %q: want an absolute https:// URL", raw)
	}
	if u.Scheme == "http" && !isLoopback(u.Hostname()) {
		return fmt.Errorf("url %q: http only to a loopback host; what privaudit sends leaves the machine only over https", raw)
	}
	return nil
}

// isLoopback reports whether host names this machine: localhost or a
// loopback IP.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback()
}

// readSecret reads the secret what from the file (its content, without a
// trailing newline) or the environment variable env: exactly one is given.
// Errors name the file or variable, never the secret.
func readSecret(what, file, env string) ([]byte, error) {
	switch {
	case file != "" && env != "":
		return nil, fmt.Errorf("%s_file and %s_env are both set; give one", what, what)
	case file != "":
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("%s_file: %w (privaudit reads it at each delivery; check its path and permissions)", what, err)
		}
		b = []byte(strings.TrimRight(string(b), "\r\n"))
		if len(b) == 0 {
			return nil, fmt.Errorf("%s_file %s is empty", what, file)
		}
		return b, nil
	case env != "":
		v := os.Getenv(env)
		if v == "" {
			return nil, fmt.Errorf("%s_env: environment variable %s is not set or empty", what, env)
		}
		return []byte(v), nil
	}
	return nil, fmt.Errorf("%s_file or %s_env is required (secrets are never written in the configuration)", what, what)
}
