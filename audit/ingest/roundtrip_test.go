package ingest_test

import (
	"bytes"
	"context"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/privaudit/privaudit/audit"
	"github.com/privaudit/privaudit/audit/ingest/ingesttest"
	"github.com/privaudit/privaudit/audit/synth"
)

// TestStoredRecordsMatchInput ingests generated events and consents — every
// field, arrays and attributes, consents with and without expiry — partly
// twice, so batches also drop already-stored records before inserting, and
// checks that every column stored in ClickHouse holds what was sent.
func TestStoredRecordsMatchInput(t *testing.T) {
	env := ingesttest.Start(t, ingesttest.Options{})
	var wire, consents bytes.Buffer
	if _, err := synth.Generate(context.Background(), synth.Options{Seed: 7, Customers: 200, Events: 3000,
		Now: time.Now().UTC()}, &wire, &consents); err != nil {
		t.Fatal(err)
	}
	evLines := strings.SplitAfter(wire.String(), "\n")
	// The first third alone, then everything: the second batch holds
	// stored records among new ones.
	env.Ingest(t, audit.KindEvents, strings.Join(evLines[:len(evLines)/3], ""))
	env.Ingest(t, audit.KindEvents, wire.String())
	env.Ingest(t, audit.KindConsents, consents.String())

	evs, err := audit.DecodeEvents(strings.NewReader(wire.String()), audit.DecodeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cs, err := audit.DecodeConsents(strings.NewReader(consents.String()), audit.DecodeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) < 1000 || len(cs) < 100 {
		t.Fatalf("generated only %d events and %d consents", len(evs), len(cs))
	}
	checkStoredEvents(t, env, evs)
	checkStoredConsents(t, env, cs)
}

func checkStoredEvents(t *testing.T, env *ingesttest.Env, want []audit.Event) {
	t.Helper()
	byID := map[string]*audit.Event{}
	for i := range want {
		byID[want[i].EventID] = &want[i]
	}
	rows, err := env.Conn.Query(context.Background(), `SELECT event_id, occurred_at, occurred_ns, actor_id, actor_type,
		subject_id, action, data_categories, fields, recipient_id, recipient_type, purpose, legal_basis, consent_id,
		outcome, record_count, channel, jurisdiction, request_id, attr_keys, attr_values, ingested_at, ingest_seq, batch_id
		FROM privaudit.access_events`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var g audit.Event
		var occurred, ingested time.Time
		var occurredNS int64
		var seq uint64
		var batch string
		if err := rows.Scan(&g.EventID, &occurred, &occurredNS, &g.ActorID, &g.ActorType, &g.SubjectID, &g.Action,
			&g.DataCategories, &g.Fields, &g.RecipientID, &g.RecipientType, &g.Purpose, &g.LegalBasis, &g.ConsentID,
			&g.Outcome, &g.RecordCount, &g.Channel, &g.Jurisdiction, &g.RequestID, &g.AttrKeys, &g.AttrValues,
			&ingested, &seq, &batch); err != nil {
			t.Fatal(err)
		}
		n++
		w := byID[g.EventID]
		if w == nil {
			t.Fatalf("stored event %s was not sent", g.EventID)
		}
		g.OccurredAt = time.Unix(0, occurredNS).UTC()
		if occurred.Unix() != w.OccurredAt.Unix() || !sameStrings(g, *w) || g.RecordCount != w.RecordCount || !g.OccurredAt.Equal(w.OccurredAt) {
			t.Fatalf("event %s stored as\n%+v (occurred_at %v)\nwant\n%+v", g.EventID, g, occurred, *w)
		}
		if ingested.Unix() != int64(seq/1e9) || !strings.HasPrefix(batch, "events-") {
			t.Fatalf("event %s: ingested_at %v, ingest_seq %d, batch_id %q", g.EventID, ingested, seq, batch)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if n != len(want) {
		t.Fatalf("%d rows stored, want %d", n, len(want))
	}
}

func sameStrings(g, w audit.Event) bool {
	eq := func(a, b []string) bool { return slices.Equal(a, b) || (len(a) == 0 && len(b) == 0) }
	return g.ActorID == w.ActorID && g.ActorType == w.ActorType && g.SubjectID == w.SubjectID && g.Action == w.Action &&
		eq(g.DataCategories, w.DataCategories) && eq(g.Fields, w.Fields) && g.RecipientID == w.RecipientID &&
		g.RecipientType == w.RecipientType && g.Purpose == w.Purpose && g.LegalBasis == w.LegalBasis &&
		g.ConsentID == w.ConsentID && g.Outcome == w.Outcome && g.Channel == w.Channel && g.Jurisdiction == w.Jurisdiction &&
		g.RequestID == w.RequestID && eq(g.AttrKeys, w.AttrKeys) && eq(g.AttrValues, w.AttrValues)
}

func checkStoredConsents(t *testing.T, env *ingesttest.Env, want []audit.Consent) {
	t.Helper()
	byID := map[string]*audit.Consent{}
	for i := range want {
		byID[want[i].ConsentEventID] = &want[i]
	}
	rows, err := env.Conn.Query(context.Background(), `SELECT consent_event_id, consent_id, subject_id, recipient_id,
		status, purposes, data_categories, effective_at, effective_ns, has_expiry, expires_at, expires_ns, method,
		notice_version, jurisdiction, proof_sha256, attr_keys, attr_values FROM privaudit.consent_events`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	n, expiring := 0, 0
	for rows.Next() {
		var g audit.Consent
		var effective, expires time.Time
		var effectiveNS, expiresNS int64
		var has uint8
		if err := rows.Scan(&g.ConsentEventID, &g.ConsentID, &g.SubjectID, &g.RecipientID, &g.Status, &g.Purposes,
			&g.DataCategories, &effective, &effectiveNS, &has, &expires, &expiresNS, &g.Method, &g.NoticeVersion,
			&g.Jurisdiction, &g.ProofSHA256, &g.AttrKeys, &g.AttrValues); err != nil {
			t.Fatal(err)
		}
		n++
		w := byID[g.ConsentEventID]
		if w == nil {
			t.Fatalf("stored consent %s was not sent", g.ConsentEventID)
		}
		eq := func(a, b []string) bool { return slices.Equal(a, b) || (len(a) == 0 && len(b) == 0) }
		same := g.ConsentID == w.ConsentID && g.SubjectID == w.SubjectID && g.RecipientID == w.RecipientID &&
			g.Status == w.Status && eq(g.Purposes, w.Purposes) && eq(g.DataCategories, w.DataCategories) &&
			effectiveNS == w.EffectiveAt.UnixNano() && effective.Unix() == w.EffectiveAt.Unix() && g.Method == w.Method &&
			g.NoticeVersion == w.NoticeVersion && g.Jurisdiction == w.Jurisdiction && g.ProofSHA256 == w.ProofSHA256 &&
			eq(g.AttrKeys, w.AttrKeys) && eq(g.AttrValues, w.AttrValues)
		if w.ExpiresAt != nil {
			expiring++
			same = same && has == 1 && expiresNS == w.ExpiresAt.UnixNano() && expires.Unix() == w.ExpiresAt.Unix()
		} else {
			same = same && has == 0 && expiresNS == 0 && expires.Unix() == 0
		}
		if !same {
			t.Fatalf("consent %s stored as\n%+v (effective %v/%d, expiry %d %v/%d)\nwant\n%+v", g.ConsentEventID, g,
				effective, effectiveNS, has, expires, expiresNS, *w)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if n != len(want) || expiring == 0 || expiring == n {
		t.Fatalf("%d consents stored (%d with an expiry), want %d, some with and some without", n, expiring, len(want))
	}
}

// TestEventBlocksArriveSorted checks, with ClickHouse's own counters, that
// the writer sends access events in the table's ORDER BY, so the server
// skips sorting them: of the blocks one batch writes, only the key-hash
// view's block (ordered by hash) may need a sort.
func TestEventBlocksArriveSorted(t *testing.T) {
	env := ingesttest.Start(t, ingesttest.Options{})
	var wire, consents bytes.Buffer
	if _, err := synth.Generate(context.Background(), synth.Options{Seed: 11, Customers: 100, Events: 3000,
		Now: time.Now().UTC()}, &wire, &consents); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(wire.String(), "\n"), "\n")
	rand.New(rand.NewPCG(1, 2)).Shuffle(len(lines), func(i, j int) { lines[i], lines[j] = lines[j], lines[i] })
	body := strings.Join(lines, "\n") + "\n"
	counters := func() (blocks, sorted uint64) {
		rows, err := env.Conn.Query(context.Background(), "SELECT event, value FROM system.events WHERE event IN ('MergeTreeDataWriterBlocks', 'MergeTreeDataWriterBlocksAlreadySorted')")
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		for rows.Next() {
			var name string
			var v uint64
			if err := rows.Scan(&name, &v); err != nil {
				t.Fatal(err)
			}
			if name == "MergeTreeDataWriterBlocks" {
				blocks = v
			} else {
				sorted = v
			}
		}
		return blocks, sorted
	}
	b0, s0 := counters()
	env.Ingest(t, audit.KindEvents, body)
	b1, s1 := counters()
	months := env.Count(t, "SELECT uniqExact(toYYYYMM(occurred_at)) FROM privaudit.access_events")
	if months == 0 || s1-s0 < months || (b1-b0)-(s1-s0) > 1 {
		t.Fatalf("%d blocks written, %d already sorted; want every one of the %d event partitions' blocks sorted, at most the key-hash block not",
			b1-b0, s1-s0, months)
	}
}
