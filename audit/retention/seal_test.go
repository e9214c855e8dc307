package retention_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/privaudit/privaudit/audit"
	"github.com/privaudit/privaudit/audit/ingest/ingesttest"
	"github.com/privaudit/privaudit/audit/retention"
	"github.com/privaudit/privaudit/queries"
)

// proofEnv is a running intake (with its proof log) that stored access and
// consent events in May, August, September and December 2026, in four
// requests interleaving the months, so a month's leaves form several runs.
// Subject s-held's records are in May only.
func proofEnv(t *testing.T) *ingesttest.Env {
	t.Helper()
	if testing.Short() {
		t.Skip("starts a managed ClickHouse")
	}
	env := ingesttest.Start(t, ingesttest.Options{Now: func() time.Time { return now }})
	months := []time.Time{time.Date(2026, 5, 10, 8, 0, 0, 0, time.UTC), time.Date(2026, 8, 17, 8, 0, 0, 0, time.UTC),
		time.Date(2026, 9, 2, 8, 0, 0, 0, time.UTC), time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)}
	for round := range 4 {
		var events, consents strings.Builder
		for m, at := range months {
			for i := range 3 {
				subject := fmt.Sprintf("s-%d", i)
				if m == 0 && i == 0 {
					subject = "s-held"
				}
				id := fmt.Sprintf("r%d-m%d-%d", round, m, i)
				at := at.Add(time.Duration(round*3+i) * time.Hour)
				events.WriteString(ingesttest.WireEvent("e-"+id, subject, "acme", "marketing", "", at, "contact") + "\n")
				consents.WriteString(ingesttest.WireConsent("c-"+id, "k-"+id, subject, "acme", "granted", at,
					[]string{"marketing"}, []string{"contact"}) + "\n")
			}
		}
		env.Ingest(t, audit.KindEvents, events.String())
		env.Ingest(t, audit.KindConsents, consents.String())
	}
	return env
}

// leafTruth is, by table and month, the leaf indexes of the records the
// table holds, joined in Go from log_leaf_rows and the records.
func leafTruth(t *testing.T, ctx context.Context, conn driver.Conn, s queries.Schema) map[string][]uint64 {
	t.Helper()
	monthOf := map[string]string{}
	for _, q := range []string{
		"SELECT 'events/' || event_id, toString(toYYYYMM(occurred_at)) FROM " + s.DB + ".access_events",
		"SELECT 'consents/' || consent_event_id, toString(toYYYYMM(effective_at)) FROM " + s.DB + ".consent_events",
	} {
		rows, err := conn.Query(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var key, m string
			if err := rows.Scan(&key, &m); err != nil {
				t.Fatal(err)
			}
			monthOf[key] = m
		}
		rows.Close()
	}
	rows, err := conn.Query(ctx, "SELECT leaf_index, kind, record_key FROM "+s.MetaDB+".log_leaf_rows ORDER BY leaf_index")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	table := map[string]string{"events": "access_events", "consents": "consent_events"}
	out := map[string][]uint64{}
	for rows.Next() {
		var i uint64
		var kind, key string
		if err := rows.Scan(&i, &kind, &key); err != nil {
			t.Fatal(err)
		}
		if m, ok := monthOf[kind+"/"+key]; ok {
			out[table[kind]+"/"+m] = append(out[table[kind]+"/"+m], i)
		}
	}
	if len(out) == 0 {
		t.Fatal("no leaves in the proof log")
	}
	return out
}

// expand lists the leaf indexes of runs.
func expand(runs []audit.LeafRange) []uint64 {
	var out []uint64
	for _, r := range runs {
		for i := r.First; i <= r.Last; i++ {
			out = append(out, i)
		}
	}
	return out
}

// proofKey creates a proof key named name and returns it and its verifier key.
func proofKey(t *testing.T, name string) (*audit.ProofKey, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), name+".key")
	vkey, err := audit.CreateProofKey(path, name)
	if err != nil {
		t.Fatal(err)
	}
	k, err := audit.LoadProofKey(path)
	if err != nil {
		t.Fatal(err)
	}
	return k, vkey
}

// sealJob is job (3 months for the event tables) signing with key, at clock.
func sealJob(t *testing.T, env *ingesttest.Env, key *audit.ProofKey, clock time.Time, crash func(string, retention.Drop) error) *retention.Job {
	t.Helper()
	p := retention.Policy{}
	for _, tb := range retention.Tables {
		p[tb.Name] = 0
	}
	p["access_events"], p["consent_events"] = 3, 3
	j, err := retention.NewJob(retention.Options{Conn: env.Conn, Schema: env.Schema, Policy: p, AllowShortRetention: true,
		Instance: "test", Now: func() time.Time { return clock }, Crash: crash, Key: key})
	if err != nil {
		t.Fatal(err)
	}
	return j
}

// sealed reads the sealed drops under vkey, by table/partition.
func sealed(t *testing.T, env *ingesttest.Env, vkey string) map[string]audit.SealedDrop {
	t.Helper()
	ds, err := retention.SealedDrops(context.Background(), env.Conn, env.Schema, vkey)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]audit.SealedDrop{}
	for _, d := range ds {
		k := d.Table + "/" + d.Partition
		if _, dup := out[k]; dup {
			t.Fatalf("two sealed drops of %s", k)
		}
		out[k] = d
	}
	return out
}

// wantSealed checks that exactly the partitions keys were dropped and
// sealed without problem, each with the leaves truth lists for it.
func wantSealed(t *testing.T, got map[string]audit.SealedDrop, truth map[string][]uint64, keys ...string) {
	t.Helper()
	if len(got) != len(keys) {
		t.Fatalf("sealed drops %v, want %v", slices.Sorted(maps.Keys(got)), keys)
	}
	for _, k := range keys {
		d, ok := got[k]
		if !ok {
			t.Fatalf("no sealed drop of %s", k)
		}
		if d.Problem != "" {
			t.Errorf("drop of %s: problem %q", k, d.Problem)
		}
		if l := expand(d.Leaves); len(truth[k]) == 0 || !slices.Equal(l, truth[k]) {
			t.Errorf("drop of %s: leaves %v (runs %v), want %v", k, l, d.Leaves, truth[k])
		}
		if d.Rows != uint64(len(truth[k])) || d.DoneAt.IsZero() {
			t.Errorf("drop of %s: rows %d done at %v, want %d rows and a time", k, d.Rows, d.DoneAt, len(truth[k]))
		}
	}
}

var pastRetention = []string{"access_events/202605", "access_events/202608", "consent_events/202605", "consent_events/202608"}

// TestRetentionSealsDrops: each dropped month of access_events and
// consent_events is sealed with exactly the leaves of the records it held
// (in several runs), and its seal verifies with the proof key.
func TestRetentionSealsDrops(t *testing.T) {
	env := proofEnv(t)
	ctx := context.Background()
	truth := leafTruth(t, ctx, env.Conn, env.Schema)
	if n := len(truth["access_events/202605"]); n != 12 {
		t.Fatalf("May holds %d access event leaves, want 12", n)
	}
	key, vkey := proofKey(t, "privaudit-test")
	if err := sealJob(t, env, key, now, nil).Run(ctx); err != nil {
		t.Fatal(err)
	}
	got := sealed(t, env, vkey)
	wantSealed(t, got, truth, pastRetention...)
	if runs := got["access_events/202605"].Leaves; len(runs) < 2 {
		t.Fatalf("May's leaves in %d run(s) %v: the scenario must interleave months", len(runs), runs)
	}
}

// mutate runs an ALTER TABLE … UPDATE and waits (generously) until its
// mutation is done: mutations are asynchronous.
func mutate(t *testing.T, env *ingesttest.Env, table, sql string, args ...any) {
	t.Helper()
	ctx := context.Background()
	if err := env.Conn.Exec(ctx, "ALTER TABLE "+env.Schema.MetaDB+"."+table+" "+sql, args...); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(2 * time.Minute)
	for {
		n := env.Count(t, "SELECT count() FROM system.mutations WHERE database = ? AND table = ? AND is_done = 0", env.Schema.MetaDB, table)
		if n == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("mutation of %s not done after 2 minutes", table)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestSealedDropTampering: a leaf run altered after the drop, or a signed
// text altered, is named in the drop's Problem; the other drops still hold.
func TestSealedDropTampering(t *testing.T) {
	env := proofEnv(t)
	ctx := context.Background()
	key, vkey := proofKey(t, "privaudit-test")
	if err := sealJob(t, env, key, now, nil).Run(ctx); err != nil {
		t.Fatal(err)
	}
	before := sealed(t, env, vkey)
	may, aug := before["access_events/202605"], before["consent_events/202608"]
	if len(may.Leaves) == 0 || may.Problem != "" || aug.Problem != "" {
		t.Fatalf("before tampering: May %+v, August %+v", may, aug)
	}
	mutate(t, env, "retention_drop_leaves", "UPDATE last_leaf = last_leaf + 1 WHERE drop_id = ? AND first_leaf = ?", may.DropID, may.Leaves[0].First)
	mutate(t, env, "retention_drops", "UPDATE signature = replaceOne(signature, 'row_count 12', 'row_count 11') WHERE drop_id = ?", aug.DropID)
	after := sealed(t, env, vkey)
	if p := after["access_events/202605"].Problem; !strings.Contains(p, "leaf runs recorded do not match the signed digest") {
		t.Errorf("a leaf run altered: problem %q", p)
	}
	if l := after["access_events/202605"].Leaves; l[0].Last != may.Leaves[0].Last+1 {
		t.Errorf("the altered run reads %v, want its last leaf moved from %d", l[0], may.Leaves[0].Last)
	}
	if p := after["consent_events/202608"].Problem; !strings.Contains(p, "signature does not verify") {
		t.Errorf("a signed text altered: problem %q", p)
	}
	for _, k := range []string{"access_events/202608", "consent_events/202605"} {
		if p := after[k].Problem; p != "" {
			t.Errorf("untouched drop of %s: problem %q", k, p)
		}
	}
}

// TestSealedDropKeys: a drop made with no key reads unsigned, one signed
// with another key says so; SealedDrops refuses a malformed verifier key.
func TestSealedDropKeys(t *testing.T) {
	env := proofEnv(t)
	ctx := context.Background()
	other, _ := proofKey(t, "privaudit-other")
	_, vkey := proofKey(t, "privaudit-test")
	// May is past 3 months on 1 October, August only on 1 December.
	if err := sealJob(t, env, nil, time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC), nil).Run(ctx); err != nil {
		t.Fatal(err)
	}
	if err := sealJob(t, env, other, now, nil).Run(ctx); err != nil {
		t.Fatal(err)
	}
	got := sealed(t, env, vkey)
	for _, k := range pastRetention {
		want := "signed by another key"
		if strings.HasSuffix(k, "202605") {
			want = "unsigned"
		}
		if p := got[k].Problem; !strings.Contains(p, want) {
			t.Errorf("drop of %s: problem %q, want %q", k, p, want)
		}
	}
	if _, err := retention.SealedDrops(ctx, env.Conn, env.Schema, "not-a-key"); err == nil || !strings.Contains(err.Error(), "key show") {
		t.Errorf("a malformed verifier key: %v", err)
	}
}

// TestSealedDropHold: a partition kept under a subject's legal hold is not
// dropped, so no drop and no leaves are recorded for it.
func TestSealedDropHold(t *testing.T) {
	env := proofEnv(t)
	ctx := context.Background()
	truth := leafTruth(t, ctx, env.Conn, env.Schema)
	key, vkey := proofKey(t, "privaudit-test")
	j := sealJob(t, env, key, now, nil)
	if _, err := j.Holds().Set(ctx, retention.Hold{SubjectID: "s-held", Reason: "matter 42"}, "admin-alice", now); err != nil {
		t.Fatal(err)
	}
	if err := j.Run(ctx); err != nil {
		t.Fatal(err)
	}
	wantSealed(t, sealed(t, env, vkey), truth, "access_events/202608", "consent_events/202608")
	var kept uint64
	for _, k := range []string{"access_events/202605", "consent_events/202605"} {
		kept += uint64(len(truth[k]))
	}
	stored := env.Count(t, "SELECT toUInt64(sum(last_leaf - first_leaf + 1)) FROM "+env.Schema.MetaDB+".retention_drop_leaves")
	if want := uint64(len(truth["access_events/202608"]) + len(truth["consent_events/202608"])); stored != want {
		t.Fatalf("retention_drop_leaves holds %d leaves, want %d (August's only; May's %d are kept)", stored, want, kept)
	}
}

// TestSealedDropAfterCrash: a drop interrupted after its intent (before or
// after the DROP) ends sealed once rolled forward, also when the intent
// was recorded while no key was configured.
func TestSealedDropAfterCrash(t *testing.T) {
	for _, c := range []struct {
		stage    string
		unsigned bool
	}{{retention.StageIntent, false}, {retention.StageDropped, false}, {retention.StageIntent, true}} {
		t.Run(fmt.Sprintf("%s/unsigned-intent=%v", c.stage, c.unsigned), func(t *testing.T) {
			env := proofEnv(t)
			ctx := context.Background()
			truth := leafTruth(t, ctx, env.Conn, env.Schema)
			key, vkey := proofKey(t, "privaudit-test")
			crashed := errors.New("crash")
			var first string
			crash := func(st string, d retention.Drop) error {
				if st == c.stage && first == "" {
					first = d.ID
					return crashed
				}
				return nil
			}
			firstKey := key
			if c.unsigned {
				firstKey = nil
			}
			if err := sealJob(t, env, firstKey, now, crash).Run(ctx); !errors.Is(err, crashed) {
				t.Fatalf("run with a crash at %s: %v", c.stage, err)
			}
			if err := sealJob(t, env, key, now, nil).Run(ctx); err != nil {
				t.Fatal(err)
			}
			got := sealed(t, env, vkey)
			if c.unsigned {
				// The first run dropped consent_events past the crash of
				// access_events, unsigned; only the interrupted table's
				// drops are finished with the key.
				for _, k := range []string{"consent_events/202605", "consent_events/202608"} {
					d := got[k]
					if !strings.Contains(d.Problem, "unsigned") {
						t.Errorf("drop of %s made without a key: problem %q", k, d.Problem)
					}
					d.Problem = ""
					got[k] = d
				}
			}
			wantSealed(t, got, truth, pastRetention...)
			if got["access_events/202605"].DropID != first {
				t.Fatalf("May's drop is %s, want the interrupted %s", got["access_events/202605"].DropID, first)
			}
		})
	}
}

// TestSealedDropLateRecord: a record stored into a partition between a
// crashed intent and its roll-forward is not dropped outside the seal: the
// intent is cancelled and the partition dropped afresh, sealed with every
// leaf it held, the late record's included.
func TestSealedDropLateRecord(t *testing.T) {
	env := proofEnv(t)
	ctx := context.Background()
	key, vkey := proofKey(t, "privaudit-test")
	crashed := errors.New("crash")
	var first string
	crash := func(st string, d retention.Drop) error {
		if st == retention.StageIntent && first == "" {
			first = d.ID
			return crashed
		}
		return nil
	}
	// The run crashed at the access_events intent goes on to drop
	// consent_events, so their leaves are read before it.
	truth := leafTruth(t, ctx, env.Conn, env.Schema)
	if err := sealJob(t, env, key, now, crash).Run(ctx); !errors.Is(err, crashed) {
		t.Fatalf("run with a crash: %v", err)
	}
	late := time.Date(2026, 5, 28, 8, 0, 0, 0, time.UTC)
	env.Ingest(t, audit.KindEvents, ingesttest.WireEvent("e-late", "s-1", "acme", "marketing", "", late, "contact")+"\n")
	truth["access_events/202605"] = leafTruth(t, ctx, env.Conn, env.Schema)["access_events/202605"]
	if n := len(truth["access_events/202605"]); n != 13 {
		t.Fatalf("May holds %d access event leaves after the late record, want 13", n)
	}
	if err := sealJob(t, env, key, now, nil).Run(ctx); err != nil {
		t.Fatal(err)
	}
	got := sealed(t, env, vkey)
	wantSealed(t, got, truth, pastRetention...)
	if got["access_events/202605"].DropID == first {
		t.Fatalf("the intent sealed before the late record was carried out")
	}
	all, err := retention.Drops(ctx, env.Conn, env.Schema)
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(all, func(d retention.Drop) bool { return d.ID == first })
	if i < 0 || all[i].Status != retention.StatusCancelled || !strings.Contains(all[i].Detail, "records stored into the partition since the intent") {
		t.Fatalf("the interrupted intent %s reads %+v, want cancelled naming the late records", first, all)
	}
}
