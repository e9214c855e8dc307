package xlsx

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/privaudit/privaudit/reports/render"
)

// sliceRows is a render.Rows over rows held in memory (small test inputs).
type sliceRows struct {
	rows [][]any
	i    int
	err  error // returned by Err after the rows
}

func (s *sliceRows) Next() bool    { s.i++; return s.i <= len(s.rows) }
func (s *sliceRows) Values() []any { return s.rows[s.i-1] }
func (s *sliceRows) Err() error    { return s.err }

// disclosureColumns are 18 columns shaped like the disclosures report's
// detail with the extras a real run carries.
var disclosureColumns = []render.Column{
	{Name: "event_id", Kind: render.String},
	{Name: "occurred_at", Kind: render.Time},
	{Name: "subject_id", Kind: render.String},
	{Name: "recipient_id", Kind: render.String},
	{Name: "recipient_type", Kind: render.String},
	{Name: "purpose", Kind: render.String},
	{Name: "data_categories", Kind: render.List},
	{Name: "record_count", Kind: render.Int},
	{Name: "legal_basis", Kind: render.String},
	{Name: "consent_id", Kind: render.String},
	{Name: "verdict", Kind: render.String},
	{Name: "actor_id", Kind: render.String},
	{Name: "actor_type", Kind: render.String},
	{Name: "action", Kind: render.String},
	{Name: "ingested_at", Kind: render.Time},
	{Name: "source_system", Kind: render.String},
	{Name: "consent_effective_at", Kind: render.Time},
	{Name: "detail", Kind: render.String},
}

var (
	recipients = []string{"adtech-europe", "analytics-co", "payments-gateway", "insurer-partner", "crm-cloud"}
	recipTypes = []string{"processor", "controller", "third_party"}
	purposes   = []string{"advertising", "analytics", "billing", "fraud_prevention", "service"}
	categories = []string{"contact", "location", "financial", "health", "behavioural", "identity"}
	verdicts   = []string{"covered", "no_consent", "withdrawn", "expired", "scope_exceeded", "other_basis"}
	bases      = []string{"consent", "contract", "legal_obligation", "legitimate_interest"}
	actions    = []string{"disclose", "read", "export"}
	details    = []string{"", "consent c-123 withdrawn 2024-03-01T10:00:00Z before the event",
		"categories beyond opt-in: health", `purpose "advertising" not granted, contact`}
)

// genRows generates n deterministic disclosures-like rows without holding
// them: the values slice is reused, as a database scan would.
type genRows struct {
	n, i int
	rng  *rand.Rand
	base time.Time
	vals []any
	cats [][]string
}

// newGenRows returns a generator of n rows.
func newGenRows(n int) *genRows {
	g := &genRows{n: n, rng: rand.New(rand.NewPCG(1, 2)), vals: make([]any, len(disclosureColumns)),
		base: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)}
	for k := 1; k <= 4; k++ {
		g.cats = append(g.cats, categories[:k], categories[6-k:])
	}
	return g
}

func (g *genRows) Next() bool { g.i++; return g.i <= g.n }
func (g *genRows) Err() error { return nil }

func (g *genRows) Values() []any {
	r, i := g.rng, g.i
	at := g.base.Add(time.Duration(i)*31*time.Second + time.Duration(r.IntN(1000))*time.Millisecond)
	consent, eff := "", any(nil)
	if r.IntN(4) > 0 {
		consent = fmt.Sprintf("c-%08x-%04x", r.Uint32(), i%65536)
		eff = at.Add(-time.Duration(r.IntN(90*24)) * time.Hour)
	}
	v := g.vals
	v[0] = fmt.Sprintf("%08x-%04x-4%03x-a%03x-%012x", r.Uint32(), i%65536, r.IntN(4096), r.IntN(4096), r.Uint64()>>16)
	v[1], v[2] = at, fmt.Sprintf("subj-%07d", r.IntN(2_000_000))
	v[3], v[4], v[5] = recipients[r.IntN(len(recipients))], recipTypes[r.IntN(len(recipTypes))], purposes[r.IntN(len(purposes))]
	v[6], v[7], v[8] = g.cats[r.IntN(len(g.cats))], int64(1+r.IntN(5000)), bases[r.IntN(len(bases))]
	v[9], v[10], v[11] = consent, verdicts[r.IntN(len(verdicts))], fmt.Sprintf("svc-%03d", r.IntN(200))
	v[12], v[13], v[14] = "service", actions[r.IntN(len(actions))], at.Add(time.Duration(r.IntN(5000))*time.Millisecond)
	v[15], v[16], v[17] = "crm", eff, details[r.IntN(len(details))]
	return v
}

// csvOf renders rows with the csv renderer, whose output is the canonical
// form of the detail data.
func csvOf(t testing.TB, cols []render.Column, rows render.Rows) ([]byte, render.Result) {
	t.Helper()
	var buf bytes.Buffer
	res, err := render.CSV().Render(context.Background(), &buf, render.Input{Columns: cols, Rows: rows})
	if err != nil {
		t.Fatalf("csv renderer: %v", err)
	}
	return buf.Bytes(), res
}

// readCSV parses csv text into records.
func readCSV(t testing.TB, data []byte) [][]string {
	t.Helper()
	r := csv.NewReader(bytes.NewReader(data))
	r.FieldsPerRecord = -1
	recs, err := r.ReadAll()
	if err != nil {
		t.Fatalf("parse csv: %v\n%s", err, firstLines(data, 5))
	}
	return recs
}

// firstLines returns the beginning of data for failure messages.
func firstLines(data []byte, n int) string {
	lines := strings.SplitN(string(data), "\n", n+1)
	return strings.Join(lines[:min(n, len(lines))], "\n")
}
