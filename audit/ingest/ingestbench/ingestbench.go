// Package ingestbench measures privaudit's end-to-end ingest throughput —
// HTTP → decode and validate → fsync'ed spool → ClickHouse — next to a
// direct INSERT … FORMAT JSONEachRow of the same events into the same
// ClickHouse, in one run.
package ingestbench

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"runtime"
	"strconv"
	"sync"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/privaudit/privaudit/audit"
	"github.com/privaudit/privaudit/audit/client"
	"github.com/privaudit/privaudit/audit/synth"
)

// Target is the ClickHouse both paths write into.
type Target struct {
	Conn     driver.Conn // admin connection
	HTTPAddr string      // ClickHouse HTTP interface, host:port, for the direct insert
	User     string
	Password string
}

// Options configure Run.
type Options struct {
	Events int
	Seed   uint64
	// Privaudit sends the wire NDJSON through privaudit's API at URL with
	// Token, then waits until everything is stored (WaitStored).
	URL        string
	Token      string
	WaitStored func(ctx context.Context) error
	// Parallel requests on both paths (default 2).
	Parallel int
	// Log receives progress lines.
	Log io.Writer
}

// Result holds both measurements.
type Result struct {
	Events         int
	DirectSeconds  float64
	PrivSeconds    float64
	DirectPerSec   float64
	PrivPerSec     float64
	Ratio          float64 // privaudit / direct
	WireBytes      int64
	DirectRowBytes int64
}

// Run generates the events, inserts them directly, then through privaudit.
func Run(ctx context.Context, t Target, o Options) (Result, error) {
	if o.Parallel <= 0 {
		o.Parallel = 2
	}
	if o.Log == nil {
		o.Log = io.Discard
	}
	var wire, consents bytes.Buffer
	now := time.Now().UTC()
	if _, err := synth.Generate(ctx, synth.Options{Seed: o.Seed, Customers: max(o.Events/20, 100), Events: o.Events, Now: now}, &wire, &consents); err != nil {
		return Result{}, fmt.Errorf("generate: %w", err)
	}
	chunks, err := directChunks(wire.Bytes(), 100_000)
	if err != nil {
		return Result{}, err
	}
	res := Result{Events: o.Events, WireBytes: int64(wire.Len())}
	for _, c := range chunks {
		res.DirectRowBytes += int64(len(c))
	}
	fmt.Fprintf(o.Log, "generated %d events (%d MB of NDJSON)\n", o.Events, wire.Len()>>20)
	if err := t.Conn.Exec(ctx, "CREATE DATABASE IF NOT EXISTS privaudit_bench"); err != nil {
		return res, err
	}
	_ = t.Conn.Exec(ctx, "DROP TABLE IF EXISTS privaudit_bench.direct")
	if err := t.Conn.Exec(ctx, "CREATE TABLE privaudit_bench.direct AS privaudit.access_events"); err != nil {
		return res, err
	}
	// Collect the preparation's garbage now, so neither timed phase pays
	// for it.
	runtime.GC()
	start := time.Now()
	if err := directInsert(ctx, t, chunks, o.Parallel); err != nil {
		return res, err
	}
	res.DirectSeconds = time.Since(start).Seconds()
	fmt.Fprintf(o.Log, "direct INSERT FORMAT JSONEachRow: %.2fs\n", res.DirectSeconds)

	runtime.GC()
	start = time.Now()
	s := client.New(client.Options{Server: o.URL, Token: o.Token, Parallel: o.Parallel * 2, ChunkRecords: 20_000})
	if err := s.Send(ctx, audit.KindEvents, "bench", bytes.NewReader(wire.Bytes())); err != nil {
		return res, fmt.Errorf("send through privaudit: %w", err)
	}
	fmt.Fprintf(o.Log, "privaudit acknowledged everything (durably spooled) after %.2fs\n", time.Since(start).Seconds())
	if err := o.WaitStored(ctx); err != nil {
		return res, err
	}
	res.PrivSeconds = time.Since(start).Seconds()
	fmt.Fprintf(o.Log, "privaudit HTTP → spool (fsync) → ClickHouse: %.2fs\n", res.PrivSeconds)
	res.DirectPerSec = float64(o.Events) / res.DirectSeconds
	res.PrivPerSec = float64(o.Events) / res.PrivSeconds
	res.Ratio = res.PrivPerSec / res.DirectPerSec
	_ = t.Conn.Exec(ctx, "DROP TABLE IF EXISTS privaudit_bench.direct")
	return res, nil
}

// directChunks turns wire NDJSON into ClickHouse JSONEachRow rows of the
// access_events columns (untimed preparation), n rows per chunk.
func directChunks(wire []byte, n int) ([][]byte, error) {
	evs, err := audit.DecodeEvents(bytes.NewReader(wire), audit.DecodeOptions{})
	if err != nil {
		return nil, fmt.Errorf("decode generated events: %w", err)
	}
	var chunks [][]byte
	var cur []byte
	for i := range evs {
		cur = appendRow(cur, &evs[i], uint64(i))
		if (i+1)%n == 0 {
			chunks = append(chunks, cur)
			cur = nil
		}
	}
	if len(cur) > 0 {
		chunks = append(chunks, cur)
	}
	return chunks, nil
}

func appendRow(b []byte, e *audit.Event, seq uint64) []byte {
	str := func(k, v string) {
		b = append(b, '"')
		b = append(b, k...)
		b = append(b, `":`...)
		b = strconv.AppendQuote(b, v)
		b = append(b, ',')
	}
	arr := func(k string, vs []string) {
		b = append(b, '"')
		b = append(b, k...)
		b = append(b, `":[`...)
		for i, v := range vs {
			if i > 0 {
				b = append(b, ',')
			}
			b = strconv.AppendQuote(b, v)
		}
		b = append(b, "],"...)
	}
	num := func(k string, v int64) {
		b = append(b, '"')
		b = append(b, k...)
		b = append(b, `":`...)
		b = strconv.AppendInt(b, v, 10)
		b = append(b, ',')
	}
	b = append(b, '{')
	str("event_id", e.EventID)
	str("occurred_at", e.OccurredAt.Format(time.DateTime))
	num("occurred_ns", e.OccurredAt.UnixNano())
	str("actor_id", e.ActorID)
	str("actor_type", e.ActorType)
	str("subject_id", e.SubjectID)
	str("action", e.Action)
	arr("data_categories", e.DataCategories)
	arr("fields", e.Fields)
	str("recipient_id", e.RecipientID)
	str("recipient_type", e.RecipientType)
	str("purpose", e.Purpose)
	str("legal_basis", e.LegalBasis)
	str("consent_id", e.ConsentID)
	str("outcome", e.Outcome)
	num("record_count", int64(e.RecordCount))
	str("channel", e.Channel)
	str("jurisdiction", e.Jurisdiction)
	str("request_id", e.RequestID)
	arr("attr_keys", e.AttrKeys)
	arr("attr_values", e.AttrValues)
	str("ingested_at", e.OccurredAt.Format(time.DateTime))
	num("ingest_seq", int64(seq))
	b = append(b, `"batch_id":"direct"}`...)
	return append(b, '\n')
}

func directInsert(ctx context.Context, t Target, chunks [][]byte, parallel int) error {
	q := url.Values{"query": {"INSERT INTO privaudit_bench.direct FORMAT JSONEachRow"}, "user": {t.User}, "password": {t.Password}}
	u := "http://" + t.HTTPAddr + "/?" + q.Encode()
	work := make(chan []byte)
	errc := make(chan error, parallel)
	var wg sync.WaitGroup
	for i := 0; i < parallel; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for c := range work {
				if err := post(ctx, u, c); err != nil {
					errc <- err
					return
				}
			}
		}()
	}
	for _, c := range chunks {
		work <- c
	}
	close(work)
	wg.Wait()
	close(errc)
	return <-errc
}

func post(ctx context.Context, u string, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("direct insert: %w", err)
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != 200 {
		return fmt.Errorf("direct insert: %d %s", resp.StatusCode, msg)
	}
	return nil
}
