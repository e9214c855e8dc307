package reportsbench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/privaudit/privaudit/audit"
	"github.com/privaudit/privaudit/audit/client"
	"github.com/privaudit/privaudit/audit/ingest/ingestbench"
	"github.com/privaudit/privaudit/audit/synth"
)

// The generated month: every report runs over [periodFrom, periodTo).
var (
	periodFrom = time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)
	periodTo   = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	genNow     = time.Date(2026, 11, 15, 0, 0, 0, 0, time.UTC)
)

// load generates the data set and sends it through privaudit's ingest API
// (consents first, then events, as `privaudit ingest` sends two files),
// logging progress, and waits until ClickHouse holds every row.
func load(ctx context.Context, t Target, o Options) (synth.Stats, error) {
	start := time.Now()
	pr, pw := io.Pipe()
	cr, cw := io.Pipe()
	gen := synth.Options{Seed: o.Seed, Customers: o.Customers, Events: o.Events, From: periodFrom, To: periodTo, Now: genNow}
	stats := make(chan synth.Stats, 1)
	go func() {
		// Generate writes every consent before the first event: the first
		// event write ends the consent stream.
		st, err := synth.Generate(ctx, gen, &closeOnWrite{w: pw, c: cw}, cw)
		cw.CloseWithError(err)
		pw.CloseWithError(err)
		stats <- st
	}()
	prog := &progress{log: o.Log, every: 10 * time.Second, total: o.Events}
	s := client.New(client.Options{Server: o.URL, Token: o.Token, Parallel: 4, Progress: prog.update})
	if err := send(ctx, s, audit.KindConsents, "consents", cr); err != nil {
		pr.CloseWithError(err)
		<-stats
		return synth.Stats{}, err
	}
	prog.start(s.Summary().Accepted)
	if err := send(ctx, s, audit.KindEvents, "events", pr); err != nil {
		<-stats
		return synth.Stats{}, err
	}
	st := <-stats
	fmt.Fprintf(o.Log, "sent %d consent events and %d events in %s; waiting until ClickHouse holds them\n",
		st.Consents, st.Events, time.Since(start).Round(time.Second))
	if err := waitStored(ctx, t, uint64(st.Events), uint64(st.Consents)); err != nil {
		return st, err
	}
	fmt.Fprintf(o.Log, "loaded in %s\n", time.Since(start).Round(time.Second))
	return st, nil
}

// send sends one stream and fails if the server refused any record.
func send(ctx context.Context, s *client.Sender, kind audit.Kind, name string, r io.Reader) error {
	before := s.Summary().Rejected
	if err := s.Send(ctx, kind, name, r); err != nil {
		return fmt.Errorf("send %s: %w", name, err)
	}
	if sum := s.Summary(); sum.Rejected > before {
		return fmt.Errorf("send %s: the server refused %d records (first: %+v); the generator and the intake disagree",
			name, sum.Rejected-before, sum.Problems[0])
	}
	return nil
}

// waitStored waits until the events and consent tables hold at least the
// given numbers of rows.
func waitStored(ctx context.Context, t Target, events, consents uint64) error {
	if err := ingestbench.WaitRows(ctx, t.Conn, t.Schema.DB, "access_events", events); err != nil {
		return err
	}
	return ingestbench.WaitRows(ctx, t.Conn, t.Schema.DB, "consent_events", consents)
}

// closeOnWrite closes c before the first write to w.
type closeOnWrite struct {
	w    io.Writer
	c    io.Closer
	done bool
}

func (o *closeOnWrite) Write(p []byte) (int, error) {
	if !o.done {
		o.done = true
		_ = o.c.Close()
	}
	return o.w.Write(p)
}

// progress logs the events accepted so far at most every `every`.
type progress struct {
	log   io.Writer
	every time.Duration
	total int

	mu       sync.Mutex
	base     int // records accepted before the events (the consents)
	events   bool
	began    time.Time
	lastLine time.Time
}

// start marks the beginning of the events: base records were consents.
func (p *progress) start(base int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.base, p.events, p.began, p.lastLine = base, true, time.Now(), time.Now()
}

func (p *progress) update(s client.Summary) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.lastLine.IsZero() {
		p.lastLine = time.Now()
		fmt.Fprintln(p.log, "sending consent events…")
	}
	if time.Since(p.lastLine) < p.every {
		return
	}
	p.lastLine = time.Now()
	if !p.events {
		fmt.Fprintf(p.log, "  %d consent events accepted\n", s.Accepted+s.Duplicates)
		return
	}
	n := s.Accepted + s.Duplicates - p.base
	rate := float64(n) / time.Since(p.began).Seconds()
	fmt.Fprintf(p.log, "  %d of %d events accepted (%.0f%%, %.0f events/s)\n", n, p.total, 100*float64(n)/float64(p.total), rate)
}

// lateConsents builds n consent events dated before the period's events:
// grants under new consent ids for (subject, recipient) pairs of the
// period's consent-based events, each covering that pair's purpose and
// categories, so they can change the verdicts of events naming no consent.
// Pairs are reused round-robin when the period has fewer than n.
func lateConsents(ctx context.Context, t Target, n int) ([]byte, error) {
	q := "SELECT subject_id, recipient_id, any(purpose), groupUniqArrayArray(data_categories) FROM " + t.Schema.DB +
		".access_events WHERE occurred_at >= ? AND occurred_at < ? AND legal_basis = 'consent'" +
		" GROUP BY subject_id, recipient_id ORDER BY subject_id, recipient_id LIMIT ?"
	rows, err := t.Conn.Query(ctx, q, periodFrom, periodTo, uint64(n))
	if err != nil {
		return nil, fmt.Errorf("late consents: pick subjects: %w", err)
	}
	defer rows.Close()
	type pair struct {
		subject, recipient, purpose string
		cats                        []string
	}
	var pairs []pair
	for rows.Next() {
		var p pair
		if err := rows.Scan(&p.subject, &p.recipient, &p.purpose, &p.cats); err != nil {
			return nil, fmt.Errorf("late consents: %w", err)
		}
		pairs = append(pairs, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("late consents: %w", err)
	}
	if len(pairs) == 0 {
		return nil, fmt.Errorf("late consents: the period has no consent-based events; generate more events")
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	effective := periodFrom.Add(-24 * time.Hour)
	for i := 0; i < n; i++ {
		p := pairs[i%len(pairs)]
		c := wireConsent{EventID: fmt.Sprintf("00000000-0000-4000-8000-%012d", i), ConsentID: fmt.Sprintf("%s%07d", LateConsentPrefix, i),
			Subject: p.subject, Recipient: p.recipient, Status: "granted", Purposes: []string{p.purpose}, Categories: p.cats,
			Effective: effective.Add(time.Duration(i) * time.Millisecond).Format("2006-01-02T15:04:05.000Z"),
			Method:    "opt_in_web", Notice: "2024-06", Jurisdiction: "US-NY", Proof: strings.Repeat("ab", 32)}
		if err := enc.Encode(c); err != nil {
			return nil, err
		}
	}
	return buf.Bytes(), nil
}

// wireConsent is a consent event on the wire (SPEC §2).
type wireConsent struct {
	EventID      string   `json:"consent_event_id"`
	ConsentID    string   `json:"consent_id"`
	Subject      string   `json:"subject_id"`
	Recipient    string   `json:"recipient_id"`
	Status       string   `json:"status"`
	Purposes     []string `json:"purposes"`
	Categories   []string `json:"data_categories"`
	Effective    string   `json:"effective_at"`
	Method       string   `json:"method"`
	Notice       string   `json:"notice_version"`
	Jurisdiction string   `json:"jurisdiction"`
	Proof        string   `json:"proof_sha256"`
}

// LateConsentPrefix starts the consent_id of every late consent the
// benchmark sends.
const LateConsentPrefix = "bench-late-"

// settle waits, up to settleLimit, until ClickHouse runs no merge in the
// database: merges the load triggered would otherwise run beside the
// first measurements and slow them. It returns the events table's active
// parts then (FINAL reads merge them on the fly).
func settle(ctx context.Context, t Target, log io.Writer) (uint64, error) {
	deadline := time.Now().Add(settleLimit)
	logged := false
	for {
		var merges uint64
		if err := t.Conn.QueryRow(ctx, "SELECT count() FROM system.merges WHERE database = ?", t.Schema.DB).Scan(&merges); err != nil {
			return 0, fmt.Errorf("wait for merges: %w", err)
		}
		if merges == 0 || time.Now().After(deadline) {
			if merges > 0 {
				fmt.Fprintf(log, "merges still running after %s; measuring anyway\n", settleLimit)
			}
			break
		}
		if !logged {
			logged = true
			fmt.Fprintln(log, "waiting for ClickHouse's merges to finish…")
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(time.Second):
		}
	}
	var parts uint64
	if err := t.Conn.QueryRow(ctx, "SELECT count() FROM system.parts WHERE active AND database = ? AND table = 'access_events'",
		t.Schema.DB).Scan(&parts); err != nil {
		return 0, fmt.Errorf("count parts: %w", err)
	}
	return parts, nil
}

// settleLimit bounds the wait for merges after the load.
const settleLimit = 10 * time.Minute
