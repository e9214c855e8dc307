// Package synth generates privaudit's synthetic data set (SPEC §1, §5
// `privaudit generate`): a bank sharing customer data with a messaging
// platform, a card network, processors, an ad network and an authority, and
// using it internally, with consents, narrowed opt-ins, withdrawals,
// expiries, late-recorded consents and a known share of violations.
//
// Every generated access event carries the attribute synth_expect, the
// verdict (SPEC §3) it was built to get, and synth_scenario, the story it
// tells. The tests check those labels against the domain's evaluator
// (audit.Ledger), which also serves as the oracle for the SQL verdict engine.
package synth

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/privaudit/privaudit/audit"
)

// Options configures Generate. Zero fields take their defaults.
type Options struct {
	Seed      uint64
	Customers int       // default 20000
	Events    int       // total access events, default 200000
	From, To  time.Time // period of the events; default the previous full calendar month (UTC) of Now
	Now       time.Time // nothing generated is effective after Now; default time.Now()
	// Location is the bank's time zone: employees mostly read accounts
	// during its business hours (08:00–18:00). Default UTC.
	Location *time.Location
}

// Stats counts what Generate wrote. ExpectedViolations, ByKind (events per
// intended verdict) and ByScenario (events per scenario) are the labels
// known by construction.
type Stats struct {
	Events, Consents, Disclosures, ExpectedViolations int
	ConsentDisclosures                                int // disclosures with legal_basis consent
	ByKind                                            map[string]int
	ByScenario                                        map[string]int
}

// minTime is the earliest occurred_at the wire contract accepts.
var minTime = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// normalize fills in defaults and checks o.
func (o Options) normalize() (Options, error) {
	if o.Customers <= 0 {
		o.Customers = 20000
	}
	if o.Events <= 0 {
		o.Events = 200000
	}
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	o.Now = o.Now.UTC().Truncate(time.Millisecond)
	if o.Location == nil {
		o.Location = time.UTC
	}
	if o.From.IsZero() && o.To.IsZero() {
		o.To = time.Date(o.Now.Year(), o.Now.Month(), 1, 0, 0, 0, 0, time.UTC)
		o.From = o.To.AddDate(0, -1, 0)
	}
	if o.To.IsZero() || o.To.After(o.Now) {
		o.To = o.Now
	}
	if o.From.IsZero() {
		o.From = o.To.AddDate(0, -1, 0)
	}
	o.From, o.To = o.From.UTC().Truncate(time.Millisecond), o.To.UTC().Truncate(time.Millisecond)
	switch {
	case o.From.Before(minTime):
		return o, fmt.Errorf("synth: from %s is before %s", o.From.Format(time.RFC3339), minTime.Format(time.RFC3339))
	case !o.From.Before(o.To):
		return o, errors.New("synth: empty period: from must be before to (and to not after now)")
	}
	return o, nil
}

// Generate writes the consent ledger to consents and then opts.Events access
// events, in occurred_at order, to events, both as NDJSON in the wire format
// of SPEC §2. The output is a function of opts alone. Memory stays constant
// in the number of events; it grows with the number of customers.
func Generate(ctx context.Context, opts Options, events io.Writer, consents io.Writer) (Stats, error) {
	o, err := opts.normalize()
	if err != nil {
		return Stats{}, err
	}
	st := Stats{ByKind: map[string]int{}, ByScenario: map[string]int{}}
	w := newWorld(o, rand.New(rand.NewPCG(o.Seed, 0x9e3779b97f4a7c15)))
	cw := bufio.NewWriterSize(consents, 1<<20)
	if st.Consents, err = w.writeConsents(cw, rand.New(rand.NewPCG(o.Seed, 0xc0ffee))); err == nil {
		err = cw.Flush()
	}
	if err != nil {
		return st, fmt.Errorf("synth: write consents: %w", err)
	}
	g := newGen(w, o, &st, bufio.NewWriterSize(events, 1<<20))
	if err := g.run(ctx, o); err != nil {
		return st, err
	}
	if err := g.bw.Flush(); err != nil {
		return st, fmt.Errorf("synth: write events: %w", err)
	}
	return st, nil
}

// gen generates the access events.
type gen struct {
	w        *world
	r        *rand.Rand
	bw       *bufio.Writer
	st       *Stats
	business bool        // the current slice is within business hours
	cum      [2][]uint32 // cumulative scenario weights: [0] off hours, [1] business hours
	ts       tsFormatter
	buf      []byte
	offsets  []int64
	byScn    []int
	ev       event
}

func newGen(w *world, o Options, st *Stats, bw *bufio.Writer) *gen {
	g := &gen{w: w, r: rand.New(rand.NewPCG(o.Seed, 0x5eed)), bw: bw, st: st,
		buf: make([]byte, 0, 2048), byScn: make([]int, len(scenarios))}
	var off, bus uint32
	for _, s := range scenarios {
		off, bus = off+s.offHour, bus+s.business
		g.cum[0], g.cum[1] = append(g.cum[0], off), append(g.cum[1], bus)
	}
	return g
}

// diurnal is the relative traffic per local hour of day.
var diurnal = [24]uint64{3, 2, 2, 2, 2, 3, 5, 8, 10, 12, 12, 12, 12, 12, 12, 12, 11, 10, 9, 8, 7, 6, 5, 4}

// maxChunk bounds how many events are generated (and sorted) at once.
const maxChunk = 1 << 16

// run splits the period into hourly slices, gives each a share of the events
// proportional to its length and diurnal weight, and generates them in order.
func (g *gen) run(ctx context.Context, o Options) error {
	from, to := o.From.UnixMilli(), o.To.UnixMilli()
	weight := func(s, e int64) uint64 {
		return diurnal[time.UnixMilli(s).In(o.Location).Hour()] * uint64(e-s)
	}
	var total uint64
	forSlices(from, to, func(s, e int64) { total += weight(s, e) })
	n, cum, done := uint64(o.Events), uint64(0), 0
	var err error
	forSlices(from, to, func(s, e int64) {
		if err != nil {
			return
		}
		if err = ctx.Err(); err != nil {
			return
		}
		cum += weight(s, e)
		hi, lo := bits.Mul64(n, cum)
		target, _ := bits.Div64(hi, lo, total)
		h := time.UnixMilli(s).In(o.Location).Hour()
		g.business = h >= 8 && h < 18
		err = g.slice(s, e, int(target)-done)
		done = int(target)
	})
	g.finish()
	return err
}

// forSlices calls fn for each hour-aligned slice [s, e) of [from, to).
func forSlices(from, to int64, fn func(s, e int64)) {
	for s := from; s < to; {
		e := min((s/msPerHour+1)*msPerHour, to)
		fn(s, e)
		s = e
	}
}

// slice generates count events in [s, e), at most maxChunk at a time.
func (g *gen) slice(s, e int64, count int) error {
	k := int64((count + maxChunk - 1) / maxChunk)
	for j := int64(0); j < k; j++ {
		cs, ce := s+(e-s)*j/k, s+(e-s)*(j+1)/k
		c := int64(count)*(j+1)/k - int64(count)*j/k
		g.offsets = g.offsets[:0]
		for range c {
			g.offsets = append(g.offsets, cs+g.r.Int64N(max(ce-cs, 1)))
		}
		slices.Sort(g.offsets)
		for _, at := range g.offsets {
			if err := g.one(at); err != nil {
				return fmt.Errorf("synth: write events: %w", err)
			}
		}
	}
	return nil
}

// one generates and writes one event at time at.
func (g *gen) one(at int64) error {
	cum := g.cum[0]
	if g.business {
		cum = g.cum[1]
	}
	x := g.r.Uint32N(cum[len(cum)-1])
	i := 0
	for cum[i] <= x {
		i++
	}
	e := &g.ev // reused: an event per call would escape to the heap
	*e = event{at: at, records: 1}
	if !scenarios[i].build(g, e) {
		i, *e = fallback, event{at: at, records: 1}
		scenarios[i].build(g, e)
	}
	e.scenario = scenarios[i].name
	g.byScn[i]++
	g.count(e)
	g.buf = g.appendEvent(g.buf[:0], e)
	_, err := g.bw.Write(g.buf)
	return err
}

// count adds e to the statistics.
func (g *gen) count(e *event) {
	g.st.Events++
	g.st.ByKind[string(e.expect)]++
	if e.expect.IsViolation() {
		g.st.ExpectedViolations++
	}
	outcome := "allowed"
	if e.denied {
		outcome = "denied"
	}
	if audit.IsDisclosure(e.action, outcome, e.rcpt.typ) {
		g.st.Disclosures++
		if e.basis == "consent" {
			g.st.ConsentDisclosures++
		}
	}
}

// finish copies the per-scenario counts into the statistics.
func (g *gen) finish() {
	for i, n := range g.byScn {
		if n > 0 {
			g.st.ByScenario[scenarios[i].name] += n
		}
	}
}
