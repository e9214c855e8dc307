package ingestbench

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/privaudit/privaudit/audit"
)

// The direct paths' tables, each created like privaudit.access_events (no
// key-hash view), so every path stores the same columns.
const (
	tableOne      = "privaudit_bench.direct_one"
	tableParallel = "privaudit_bench.direct"
)

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

// insertURL is the ClickHouse HTTP address of an INSERT … FORMAT
// JSONEachRow into table (a constant of this package).
func insertURL(t Target, table string) string {
	q := url.Values{"query": {"INSERT INTO " + table + " FORMAT JSONEachRow"}, "user": {t.User}, "password": {t.Password}}
	return "http://" + t.HTTPAddr + "/?" + q.Encode()
}

// insertOne sends every chunk as one INSERT: one request, streamed.
func insertOne(ctx context.Context, t Target, chunks [][]byte) error {
	rs := make([]io.Reader, len(chunks))
	size := 0
	for i, c := range chunks {
		rs[i] = bytes.NewReader(c)
		size += len(c)
	}
	return post(ctx, insertURL(t, tableOne), io.MultiReader(rs...), int64(size))
}

// insertParallel sends each chunk as its own INSERT, parallel at a time.
func insertParallel(ctx context.Context, t Target, chunks [][]byte, parallel int) error {
	u := insertURL(t, tableParallel)
	work := make(chan []byte)
	errc := make(chan error, parallel)
	var wg sync.WaitGroup
	for i := 0; i < parallel; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for c := range work {
				if err := post(ctx, u, bytes.NewReader(c), int64(len(c))); err != nil {
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

// post sends body, of size bytes, as one request.
func post(ctx context.Context, u string, body io.Reader, size int64) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, body)
	if err != nil {
		return err
	}
	req.ContentLength = size
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
