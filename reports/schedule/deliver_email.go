package schedule

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/smtp"
	"net/textproto"
	"os"
	"strconv"
	"strings"
	"time"
)

// sendEmail sends r's e-mail to t's recipients: one SMTP session over
// STARTTLS, implicit TLS or (loopback only) none, authenticated when t
// says so.
func (s *Scheduler) sendEmail(ctx context.Context, t *target, r Run) (string, error) {
	msg, detail, err := s.buildEmail(t, r)
	if err != nil {
		return "", err
	}
	if err := sendMail(ctx, t, msg); err != nil {
		return "", err
	}
	return detail, nil
}

// sendMail sends the message msg to t's recipients in one SMTP session.
func sendMail(ctx context.Context, t *target, msg []byte) error {
	conn, err := dialSMTP(ctx, t)
	if err != nil {
		return err
	}
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	_ = conn.SetDeadline(time.Now().Add(deliveryTimeout))
	cl, err := smtp.NewClient(conn, t.cfg.Host)
	if err != nil {
		conn.Close()
		return smtpError("greeting", err)
	}
	defer cl.Close()
	return smtpSession(cl, t, msg)
}

// dialSMTP connects to t's server, in TLS from the first byte for
// implicit TLS.
func dialSMTP(ctx context.Context, t *target) (net.Conn, error) {
	addr := net.JoinHostPort(t.cfg.Host, strconv.Itoa(t.cfg.Port))
	d := &net.Dialer{Timeout: 30 * time.Second}
	if t.cfg.TLS == TLSImplicit {
		conn, err := (&tls.Dialer{NetDialer: d, Config: tlsConfig(t)}).DialContext(ctx, "tcp", addr)
		if err != nil {
			return nil, smtpError("connect (TLS) to "+addr, err)
		}
		return conn, nil
	}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, smtpError("connect to "+addr, err)
	}
	return conn, nil
}

func tlsConfig(t *target) *tls.Config {
	return &tls.Config{ServerName: t.cfg.Host, RootCAs: t.roots, MinVersion: tls.VersionTLS12}
}

// smtpSession runs the SMTP dialogue after the greeting.
func smtpSession(cl *smtp.Client, t *target, msg []byte) error {
	c := t.cfg
	if err := cl.Hello(heloName()); err != nil {
		return smtpError("EHLO", err)
	}
	if c.TLS == TLSStartTLS {
		if ok, _ := cl.Extension("STARTTLS"); !ok {
			return permanent(fmt.Errorf("SMTP server %s does not offer STARTTLS; set tls: tls if it speaks TLS on connect", c.Host))
		}
		if err := cl.StartTLS(tlsConfig(t)); err != nil {
			return smtpError("STARTTLS", err)
		}
	}
	if c.Auth != "none" {
		pw, err := readSecret("password", c.PasswordFile, c.PasswordEnv)
		if err != nil {
			return permanent(err)
		}
		var a smtp.Auth = smtp.PlainAuth("", c.Username, string(pw), c.Host)
		if c.Auth == "login" {
			a = &loginAuth{user: c.Username, pass: string(pw), host: c.Host}
		}
		if err := cl.Auth(a); err != nil {
			return smtpError("AUTH "+strings.ToUpper(c.Auth), err)
		}
	}
	if err := cl.Mail(bareAddress(c.From)); err != nil {
		return smtpError("MAIL FROM", err)
	}
	for _, to := range c.To {
		if err := cl.Rcpt(bareAddress(to)); err != nil {
			return smtpError("RCPT TO", err)
		}
	}
	w, err := cl.Data()
	if err != nil {
		return smtpError("DATA", err)
	}
	if _, err := w.Write(msg); err != nil {
		return smtpError("DATA", err)
	}
	if err := w.Close(); err != nil {
		return smtpError("end of DATA", err)
	}
	if err := cl.Quit(); err != nil {
		return smtpError("QUIT", err)
	}
	return nil
}

// heloName is the name privaudit gives in EHLO: the host name, which
// strict servers expect, or localhost.
func heloName() string {
	h, err := os.Hostname()
	if err != nil || h == "" || strings.ContainsAny(h, " \r\n") {
		return "localhost"
	}
	return h
}

// smtpError wraps an SMTP failure at step; a 5xx reply and a certificate
// the client does not trust are permanent, the rest (4xx, network) may
// pass.
func smtpError(step string, err error) error {
	err = fmt.Errorf("SMTP %s: %w", step, err)
	var te *textproto.Error
	var ua x509.UnknownAuthorityError
	var he x509.HostnameError
	var ci x509.CertificateInvalidError
	switch {
	case errors.As(err, &te) && te.Code >= 500:
		return permanent(err)
	case errors.As(err, &ua), errors.As(err, &he), errors.As(err, &ci):
		return permanent(fmt.Errorf("%w (set ca_file to the CA that signed the server's certificate)", err))
	}
	return err
}

// bareAddress is the address part of "Name <a@b>".
func bareAddress(a string) string {
	if i, j := strings.LastIndex(a, "<"), strings.LastIndex(a, ">"); i >= 0 && j > i {
		return a[i+1 : j]
	}
	return strings.TrimSpace(a)
}

// loginAuth is the LOGIN mechanism, which net/smtp lacks: like its
// PlainAuth, it sends the password only over TLS or to localhost.
type loginAuth struct{ user, pass, host string }

func (a *loginAuth) Start(server *smtp.ServerInfo) (string, []byte, error) {
	if !server.TLS && !isLoopback(server.Name) {
		return "", nil, errors.New("unencrypted connection: LOGIN would send the password in clear")
	}
	if server.Name != a.host {
		return "", nil, errors.New("wrong host name")
	}
	return "LOGIN", nil, nil
}

func (a *loginAuth) Next(from []byte, more bool) ([]byte, error) {
	if !more {
		return nil, nil
	}
	switch p := strings.ToLower(strings.TrimSpace(string(from))); {
	case strings.HasPrefix(p, "username"):
		return []byte(a.user), nil
	case strings.HasPrefix(p, "password"):
		return []byte(a.pass), nil
	}
	return nil, fmt.Errorf("unexpected LOGIN prompt %q", from)
}

// buildEmail writes the message: a plain-text part describing the run and
// its files, then the files attached in order while their total stays
// within t's attach_limit; the others are linked.
func (s *Scheduler) buildEmail(t *target, r Run) ([]byte, string, error) {
	var attach []File
	var total int64
	for _, f := range r.Files {
		if total+f.Size > t.cfg.AttachLimit {
			break
		}
		total += f.Size
		attach = append(attach, f)
	}
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	h := emailHeader(t, r)
	h = append(h, "MIME-Version: 1.0", "Content-Type: multipart/mixed; boundary=\""+mw.Boundary()+"\"")
	head := strings.Join(h, "\r\n") + "\r\n\r\n"
	body, err := mw.CreatePart(textproto.MIMEHeader{"Content-Type": {"text/plain; charset=utf-8"},
		"Content-Transfer-Encoding": {"quoted-printable"}})
	if err != nil {
		return nil, "", err
	}
	qp := quotedprintable.NewWriter(body)
	if _, err := io.WriteString(qp, s.emailText(t, r, len(attach))); err != nil {
		return nil, "", err
	}
	if err := qp.Close(); err != nil {
		return nil, "", err
	}
	for _, f := range attach {
		if err := attachFile(mw, f); err != nil {
			return nil, "", err
		}
	}
	if err := mw.Close(); err != nil {
		return nil, "", err
	}
	detail := fmt.Sprintf("%d of %d files attached (%d bytes), to %d recipients", len(attach), len(r.Files), total, len(t.cfg.To))
	return append([]byte(head), buf.Bytes()...), detail, nil
}

// emailHeader is the message's header lines but its MIME structure.
func emailHeader(t *target, r Run) []string {
	subject := fmt.Sprintf("privaudit: %s report, %s (schedule %s)", r.Report, periodLabel(r), r.Schedule)
	return []string{
		"From: " + t.cfg.From,
		"To: " + strings.Join(t.cfg.To, ", "),
		"Subject: " + mime.QEncoding.Encode("utf-8", subject),
		"Date: " + time.Now().UTC().Format(time.RFC1123Z),
		// One id per run and target: a resent message is recognisably the same.
		"Message-ID: <" + r.ID + "." + t.cfg.Name + "@privaudit>",
		"X-Privaudit-Run-Id: " + r.ID,
	}
}

// periodLabel is the run's period, [from, to) in UTC.
func periodLabel(r Run) string {
	f := func(t time.Time) string {
		if t.Equal(t.Truncate(24 * time.Hour)) {
			return t.Format("2006-01-02")
		}
		return t.Format("2006-01-02 15:04")
	}
	if r.To.Sub(r.From) == 24*time.Hour && r.From.Equal(r.From.Truncate(24*time.Hour)) {
		return f(r.From) + " (UTC)"
	}
	return f(r.From) + " to " + f(r.To) + " (UTC, end excluded)"
}

// emailText is the message's plain-text part.
func (s *Scheduler) emailText(t *target, r Run, attached int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "The scheduled report %q of schedule %s has run.\n\n", r.Report, r.Schedule)
	fmt.Fprintf(&b, "Period:   %s to %s (UTC, end excluded)\n", r.From.Format(time.RFC3339), r.To.Format(time.RFC3339))
	fmt.Fprintf(&b, "Rows:     %d\n", r.Rows)
	fmt.Fprintf(&b, "Run:      %s (finished %s)\n", r.ID, r.FinishedAt.Format(time.RFC3339))
	if r.DetailSHA256 != "" {
		fmt.Fprintf(&b, "Detail SHA-256: %s\n", r.DetailSHA256)
	}
	b.WriteString("\nFiles (check each with `sha256sum FILE`):\n")
	for i, f := range r.Files {
		fmt.Fprintf(&b, "\n  %s (%d bytes)\n  SHA-256 %s\n", f.Name, f.Size, f.SHA256)
		if i < attached {
			b.WriteString("  attached\n")
			continue
		}
		fmt.Fprintf(&b, "  not attached: the attachments would exceed %d bytes\n", t.cfg.AttachLimit)
		if u := s.fileURL(r, f.Name); u != "" {
			fmt.Fprintf(&b, "  download: %s\n", u)
		} else {
			fmt.Fprintf(&b, "  download: privaudit runs get %s %s\n", r.ID, f.Name)
		}
	}
	b.WriteString("\nDownloads need an officer's sign-in. This message was sent by privaudit; do not reply.\n")
	return b.String()
}

// attachFile attaches f, read from disk and checked against its recorded
// size and SHA-256 (a file changed since the run is not sent).
func attachFile(mw *multipart.Writer, f File) error {
	fh, err := os.Open(f.Path)
	if err != nil {
		return permanent(fmt.Errorf("attach %s: %w (output retention may have deleted it)", f.Name, err))
	}
	defer fh.Close()
	if err := verify(fh, f); err != nil {
		return permanent(fmt.Errorf("attach %s: %w", f.Name, err))
	}
	ct, ok := contentTypes[f.Format]
	if !ok {
		ct = "application/octet-stream"
	}
	p, err := mw.CreatePart(textproto.MIMEHeader{
		"Content-Type":              {mime.FormatMediaType(strings.Split(ct, ";")[0], map[string]string{"name": f.Name})},
		"Content-Disposition":       {mime.FormatMediaType("attachment", map[string]string{"filename": f.Name})},
		"Content-Transfer-Encoding": {"base64"},
	})
	if err != nil {
		return err
	}
	enc := base64.NewEncoder(base64.StdEncoding, &lineWriter{w: p})
	if _, err := io.Copy(enc, fh); err != nil {
		return fmt.Errorf("attach %s: %w", f.Name, err)
	}
	return enc.Close()
}

// lineWriter breaks base64 text into lines of 76 characters (RFC 2045).
type lineWriter struct {
	w   io.Writer
	col int
}

func (l *lineWriter) Write(p []byte) (int, error) {
	n := 0
	for len(p) > 0 {
		k := min(76-l.col, len(p))
		if _, err := l.w.Write(p[:k]); err != nil {
			return n, err
		}
		n, l.col, p = n+k, l.col+k, p[k:]
		if l.col == 76 {
			if _, err := l.w.Write([]byte("\r\n")); err != nil {
				return n, err
			}
			l.col = 0
		}
	}
	return n, nil
}
