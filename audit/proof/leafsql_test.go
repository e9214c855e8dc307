package proof_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/privaudit/privaudit/audit"
	"github.com/privaudit/privaudit/audit/proof"
)

// TestLeafHashSQLAgrees: the leaf hashes verify computes, in ClickHouse
// (queries/rules/*_leaf_hash.sql) for the record-by-record pass and in Go
// from a scan for the digest pass, equal audit's AppendLeaf, the
// encoding's one home, on edge values of every column type: empty and
// long strings (lengths past one byte), zero bytes, UTF-8, empty arrays
// and empty elements, negative and 64-bit integers, the ends of DateTime.
// Rows stored by hand get leaves hashed by Go; verify must find them equal,
// and one leaf hashed from a changed record must show as altered.
func TestLeafHashSQLAgrees(t *testing.T) {
	e := startLog(t)
	ctx := context.Background()
	// The log recovers once, at its first use, appending leaves for records
	// stored without one: let it do so now, before rows are stored by hand
	// with leaves of their own.
	if err := e.Ingestor.ProofLog().Ready(ctx); err != nil {
		t.Fatal(err)
	}
	long := strings.Repeat("é", 40000)
	early, late := time.Unix(1, 0), time.Date(2100, 12, 31, 23, 59, 59, 0, time.UTC)
	events := []audit.StoredEvent{
		{EventID: "e-empty", OccurredAt: early, OccurredNS: -1, IngestedAt: early, DataCategories: []string{}, Fields: []string{}, AttrKeys: []string{}, AttrValues: []string{}},
		{EventID: "e-edge", OccurredAt: late, OccurredNS: 1 << 62, ActorID: "a\x00b", ActorType: "employee", SubjectID: "Zoë ✓", Action: "share",
			DataCategories: []string{"", "balance"}, Fields: []string{long, "x"}, RecipientID: long, RecipientType: "third_party", Purpose: "p",
			LegalBasis: "consent", ConsentID: "c", Outcome: "success", RecordCount: 1<<40 + 3, Channel: "api", Jurisdiction: "EU", RequestID: "r",
			AttrKeys: []string{"k1", "k2"}, AttrValues: []string{"", "v"}, IngestedAt: late, IngestSeq: 1<<63 + 5, BatchID: "b"},
		{EventID: "e-changed", OccurredAt: late, Purpose: "marketing", DataCategories: []string{}, Fields: []string{}, AttrKeys: []string{}, AttrValues: []string{}, IngestedAt: late},
	}
	consents := []audit.StoredConsent{
		{ConsentEventID: "c-empty", EffectiveAt: early, EffectiveNS: -5, ExpiresAt: early, ExpiresNS: -1, IngestedAt: early, Purposes: []string{}, DataCategories: []string{}, AttrKeys: []string{}, AttrValues: []string{}},
		{ConsentEventID: "c-edge", ConsentID: "c", SubjectID: "Zoë", RecipientID: "acme", Status: "withdrawn", Purposes: []string{"marketing", ""},
			DataCategories: []string{long}, EffectiveAt: late, EffectiveNS: 1<<63 - 1, HasExpiry: 1, ExpiresAt: late, ExpiresNS: 1 << 40,
			Method: "opt_in_app", NoticeVersion: "v\x002", Jurisdiction: "US", ProofSHA256: strings.Repeat("ab", 32), AttrKeys: []string{"k"}, AttrValues: []string{"v"},
			IngestedAt: late, IngestSeq: 7, BatchID: "b"},
	}
	insert := func(sql string, rows []any) {
		b, err := e.Conn.PrepareBatch(ctx, sql)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rows {
			if err := b.AppendStruct(r); err != nil {
				t.Fatal(err)
			}
		}
		if err := b.Send(); err != nil {
			t.Fatal(err)
		}
	}
	var evRows, coRows []any
	for i := range events {
		evRows = append(evRows, &events[i])
	}
	for i := range consents {
		coRows = append(coRows, &consents[i])
	}
	insert("INSERT INTO "+e.Schema.DB+".access_events (event_id, occurred_at, occurred_ns, actor_id, actor_type, subject_id, action, data_categories, fields, recipient_id, recipient_type, purpose, legal_basis, consent_id, outcome, record_count, channel, jurisdiction, request_id, attr_keys, attr_values, ingested_at, ingest_seq, batch_id)", evRows)
	insert("INSERT INTO "+e.Schema.DB+".consent_events (consent_event_id, consent_id, subject_id, recipient_id, status, purposes, data_categories, effective_at, effective_ns, has_expiry, expires_at, expires_ns, method, notice_version, jurisdiction, proof_sha256, attr_keys, attr_values, ingested_at, ingest_seq, batch_id)", coRows)

	leaves, err := e.Conn.PrepareBatch(ctx, "INSERT INTO "+e.Schema.MetaDB+".log_runs (first_leaf, leaf_count, kind, batch_id, record_keys, leaf_hashes, appended_at)")
	if err != nil {
		t.Fatal(err)
	}
	idx := uint64(0)
	add := func(kind audit.Kind, key, batch string, enc []byte) {
		if err := leaves.Append(idx, uint32(1), string(kind), batch, []string{key}, []string{string(audit.LeafHash(enc))}, time.Now()); err != nil {
			t.Fatal(err)
		}
		idx++
	}
	for _, ev := range events {
		if ev.EventID == "e-changed" {
			ev.Purpose = "fraud_prevention" // logged as it was before a change
		}
		add(audit.KindEvents, ev.EventID, ev.BatchID, ev.AppendLeaf(nil))
	}
	for _, c := range consents {
		add(audit.KindConsents, c.ConsentEventID, c.BatchID, c.AppendLeaf(nil))
	}
	if err := leaves.Send(); err != nil {
		t.Fatal(err)
	}
	res, err := proof.Verify(ctx, proof.Options{Conn: e.Conn, Scan: e.Scan, Schema: e.Schema, Verifier: e.verifier})
	if err != nil {
		t.Fatal(err)
	}
	if res.TreeSize != 5 || res.Records != 5 || res.Total() != 1 || len(res.Findings) != 1 || res.Findings[0].Kind != proof.Altered || res.Findings[0].Key != "e-changed" {
		t.Fatalf("want only e-changed altered (SQL and Go leaf hashes agree on the rest); got size %d, records %d, findings %v", res.TreeSize, res.Records, res.Findings)
	}
	scanned, err := proof.ScanLeafHashes(ctx, proof.Options{Conn: e.Conn, Scan: e.Scan, Schema: e.Schema, Logger: e.Log})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]byte{}
	for _, ev := range events {
		want["access_events/"+ev.EventID] = audit.LeafHash(ev.AppendLeaf(nil))
	}
	for _, c := range consents {
		want["consent_events/"+c.ConsentEventID] = audit.LeafHash(c.AppendLeaf(nil))
	}
	if len(scanned) != len(want) {
		t.Errorf("the scan recomputed %d leaves, want %d", len(scanned), len(want))
	}
	for k, w := range want {
		if got := scanned[k]; string(got[:]) != string(w) {
			t.Errorf("%s: the scan's leaf hash %x, AppendLeaf's %x", k, got, w)
		}
	}
}
