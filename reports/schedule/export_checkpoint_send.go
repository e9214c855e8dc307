package schedule

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/http"
	"net/textproto"
	"strconv"
	"strings"
	"time"
)

// Headers of a checkpoint sent to a webhook; a delivery target's webhook
// also gets the signature and timestamp headers of a run delivery.
const (
	HeaderCheckpointSize = "X-Privaudit-Checkpoint-Size" // the tree size the note signs
	HeaderWebhookEvent   = "X-Privaudit-Event"           // CheckpointEvent
)

// CheckpointEvent names a checkpoint export in HeaderWebhookEvent.
const CheckpointEvent = "proof_log.checkpoint"

// sendCheckpointWebhook POSTs cp's signed note, as text/plain, to rawURL;
// with a secret, signed like a run delivery (SignWebhook) and named
// checkpoint-SIZE/TARGET in HeaderWebhookDelivery.
func sendCheckpointWebhook(ctx context.Context, rawURL string, secret []byte, target string, cp exportedCheckpoint, attempt int) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, rawURL, bytes.NewReader(cp.note))
	if err != nil {
		return "", permanent(fmt.Errorf("webhook request: %w", err))
	}
	size := strconv.FormatUint(cp.size, 10)
	req.Header.Set("Content-Type", "text/plain; charset=utf-8")
	req.Header.Set("User-Agent", "privaudit")
	req.Header.Set(HeaderWebhookEvent, CheckpointEvent)
	req.Header.Set(HeaderCheckpointSize, size)
	req.Header.Set(HeaderWebhookAttempt, strconv.Itoa(attempt))
	if secret != nil {
		ts := time.Now().Unix()
		req.Header.Set(HeaderWebhookTimestamp, strconv.FormatInt(ts, 10))
		req.Header.Set(HeaderWebhookSignature, SignWebhook(secret, ts, cp.note))
		req.Header.Set(HeaderWebhookDelivery, "checkpoint-"+size+"/"+target)
	}
	return postWebhook(req)
}

// sendCheckpointTarget sends cp to a schedule's delivery target: its
// webhook, signed with its secret, or an e-mail to its recipients.
func sendCheckpointTarget(ctx context.Context, t *target, cp exportedCheckpoint, attempt int) (string, error) {
	if t.cfg.Type == TargetWebhook {
		secret, err := readSecret("secret", t.cfg.SecretFile, t.cfg.SecretEnv)
		if err != nil {
			return "", permanent(err)
		}
		return sendCheckpointWebhook(ctx, t.cfg.URL, secret, t.cfg.Name, cp, attempt)
	}
	msg, err := checkpointEmail(t, cp)
	if err != nil {
		return "", permanent(err)
	}
	if err := sendMail(ctx, t, msg); err != nil {
		return "", err
	}
	return fmt.Sprintf("to %d recipients", len(t.cfg.To)), nil
}

// checkpointEmail is the message carrying cp: a plain-text part saying
// what it is and how to check it, and the signed note attached, byte for
// byte, as checkpoint-SIZE.txt.
func checkpointEmail(t *target, cp exportedCheckpoint) ([]byte, error) {
	size := strconv.FormatUint(cp.size, 10)
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	head := strings.Join([]string{
		"From: " + t.cfg.From,
		"To: " + strings.Join(t.cfg.To, ", "),
		"Subject: " + mime.QEncoding.Encode("utf-8", "privaudit: proof log checkpoint, "+size+" records ("+cp.origin()+")"),
		"Date: " + time.Now().UTC().Format(time.RFC1123Z),
		// One id per checkpoint and target: a resent message is recognisably the same.
		"Message-ID: <checkpoint-" + size + "." + t.cfg.Name + "@privaudit>",
		HeaderCheckpointSize + ": " + size,
		"MIME-Version: 1.0",
		"Content-Type: multipart/mixed; boundary=\"" + mw.Boundary() + "\"",
	}, "\r\n") + "\r\n\r\n"
	text, err := mw.CreatePart(textproto.MIMEHeader{"Content-Type": {"text/plain; charset=utf-8"},
		"Content-Transfer-Encoding": {"quoted-printable"}})
	if err != nil {
		return nil, err
	}
	qp := quotedprintable.NewWriter(text)
	fmt.Fprintf(qp, "privaudit signed a checkpoint of its proof log: the first %s records of log %s.\n\n"+
		"Keep the attached file: it is an off-machine copy. `privaudit verify --checkpoint checkpoint-%s.txt` "+
		"shows whether any of those records was changed, removed or inserted since it was signed.\n\n%s",
		size, cp.origin(), size, cp.note)
	if err := qp.Close(); err != nil {
		return nil, err
	}
	name := "checkpoint-" + size + ".txt"
	part, err := mw.CreatePart(textproto.MIMEHeader{
		"Content-Type":              {mime.FormatMediaType("text/plain", map[string]string{"name": name, "charset": "utf-8"})},
		"Content-Disposition":       {mime.FormatMediaType("attachment", map[string]string{"filename": name})},
		"Content-Transfer-Encoding": {"base64"},
	})
	if err != nil {
		return nil, err
	}
	enc := base64.NewEncoder(base64.StdEncoding, &lineWriter{w: part})
	if _, err := io.Copy(enc, bytes.NewReader(cp.note)); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	if err := mw.Close(); err != nil {
		return nil, err
	}
	return append([]byte(head), buf.Bytes()...), nil
}
