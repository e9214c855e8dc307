package ingest

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/privaudit/privaudit/audit"

	"github.com/privaudit/privaudit/queries"
)

// verdictStore keeps access_verdicts current: the events writer evaluates
// each batch it stores, and the consents writer re-evaluates the stored
// verdicts each consent batch can change (see README, "The verdict store").
//
// Evaluations and re-evaluations exclude each other through mu: a batch of
// events is evaluated under the read lock (batches in parallel), a batch of
// consents re-evaluated under the write lock. Each reads ClickHouse only
// after its own records are stored, so of an event batch and a consent batch
// that matter to each other, the one evaluated second sees the other: the
// events' ledger read includes the consents, or the consents' re-evaluation
// finds the events' stored verdicts. The position stamped on each verdict
// grows with every evaluation, so the later one wins in ReplacingMergeTree.
type verdictStore struct {
	conn    driver.Conn
	log     *slog.Logger
	metrics *Metrics
	sql     struct {
		subjects, ledger, affected, storedIDs, eventsByID, insert, insertSubjects, maxPosition string
	}
	mu       sync.RWMutex
	clock    positionClock
	initOnce sync.Mutex
	inited   bool
}

func newVerdictStore(conn driver.Conn, schema queries.Schema, metrics *Metrics, log *slog.Logger) (*verdictStore, error) {
	s := &verdictStore{conn: conn, log: log, metrics: metrics}
	for _, q := range []struct {
		dst  *string
		name string
	}{{&s.sql.subjects, "verdict_subjects"}, {&s.sql.ledger, "verdict_ledger"}, {&s.sql.affected, "verdict_affected"},
		{&s.sql.storedIDs, "verdict_stored_ids"}, {&s.sql.eventsByID, "verdict_events_by_id"},
		{&s.sql.insert, "insert_verdicts"}, {&s.sql.insertSubjects, "insert_consent_subjects"},
		{&s.sql.maxPosition, "verdict_max_position"}} {
		var err error
		if *q.dst, err = queries.Ingest(q.name, schema); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// verdictBlockRows is the number of verdict rows per block sent within one
// INSERT, as WriterOptions.BlockRows for the records.
const verdictBlockRows = 2048

// positionClock hands out ledger positions: Unix nanoseconds, strictly
// increasing within the process even if the wall clock steps back.
type positionClock struct{ last atomic.Uint64 }

func (c *positionClock) next() uint64 {
	for {
		last := c.last.Load()
		n := max(uint64(time.Now().UnixNano()), last+1)
		if c.last.CompareAndSwap(last, n) {
			return n
		}
	}
}

// init raises the clock past every stored position, once.
func (s *verdictStore) init(ctx context.Context) error {
	s.initOnce.Lock()
	defer s.initOnce.Unlock()
	if s.inited {
		return nil
	}
	var top uint64
	if err := s.conn.QueryRow(ctx, s.sql.maxPosition).Scan(&top); err != nil {
		return fmt.Errorf("read the highest stored ledger position: %w", err)
	}
	for {
		last := s.clock.last.Load()
		if last >= top || s.clock.last.CompareAndSwap(last, top) {
			break
		}
	}
	s.inited = true
	return nil
}

// evaluate computes the verdicts of evs, events just stored, and hands
// them to store (res[i] is evs[i]'s) with their ledger position, all while
// no re-evaluation runs.
func (s *verdictStore) evaluate(ctx context.Context, evs []audit.Event,
	store func(ctx context.Context, res []audit.Evaluation, position uint64) error) error {
	if len(evs) == 0 {
		return nil
	}
	if err := s.init(ctx); err != nil {
		return err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	start := time.Now()
	position := s.clock.next()
	subjects, named, pairs := eventKeys(evs)
	// Besides the consents the events name (looked up whole), only those
	// naming the pair of an event that names none decide anything.
	l, err := s.readLedger(ctx, subjects, named, func(c audit.Consent) bool { return pairs[[2]string{c.SubjectID, c.RecipientID}] })
	if err != nil {
		return err
	}
	if err := s.noteNamedSubjects(ctx, evs, l.subjectsOf); err != nil {
		return err
	}
	res := make([]audit.Evaluation, len(evs))
	for i := range evs {
		res[i] = l.Evaluate(&evs[i])
	}
	if err := store(ctx, res, position); err != nil {
		return err
	}
	s.metrics.observeVerdicts("evaluate", len(evs), time.Since(start))
	return nil
}

// eventKeys returns the distinct subjects of the events whose verdict
// depends on the ledger, the consents they name, and the (subject_id,
// recipient_id) pairs of those naming none.
func eventKeys(evs []audit.Event) (subjects, named []string, pairs map[[2]string]bool) {
	seenS, seenC := map[string]bool{}, map[string]bool{}
	pairs = map[[2]string]bool{}
	for i := range evs {
		e := &evs[i]
		if !e.NeedsConsent() {
			continue
		}
		if !seenS[e.SubjectID] {
			seenS[e.SubjectID] = true
			subjects = append(subjects, e.SubjectID)
		}
		switch {
		case e.ConsentID == "":
			pairs[[2]string{e.SubjectID, e.RecipientID}] = true
		case !seenC[e.ConsentID]:
			seenC[e.ConsentID] = true
			named = append(named, e.ConsentID)
		}
	}
	return subjects, named, pairs
}

// noteNamedSubjects records in consent_subjects the events that name a
// consent none of whose events is for their subject, so that a later event
// of that consent finds them by its consent_id.
func (s *verdictStore) noteNamedSubjects(ctx context.Context, evs []audit.Event, subjectsOf map[string][]string) error {
	var pairs [][2]string
	seen := map[[2]string]bool{}
	for i := range evs {
		e := &evs[i]
		if !e.NeedsConsent() || e.ConsentID == "" || slices.Contains(subjectsOf[e.ConsentID], e.SubjectID) {
			continue
		}
		p := [2]string{e.ConsentID, e.SubjectID}
		if !seen[p] {
			seen[p] = true
			pairs = append(pairs, p)
		}
	}
	return s.insertConsentSubjects(ctx, pairs)
}

// insertConsentSubjects stores (consent_id, subject_id) pairs.
func (s *verdictStore) insertConsentSubjects(ctx context.Context, pairs [][2]string) error {
	if len(pairs) == 0 {
		return nil
	}
	b, err := s.conn.PrepareBatch(ctx, s.sql.insertSubjects)
	if err != nil {
		return fmt.Errorf("prepare consent subjects: %w", err)
	}
	defer b.Close()
	slices.SortFunc(pairs, func(a, b [2]string) int { return cmp.Or(strings.Compare(a[0], b[0]), strings.Compare(a[1], b[1])) })
	ids, subjects := make([]string, len(pairs)), make([]string, len(pairs))
	for i, p := range pairs {
		ids[i], subjects[i] = p[0], p[1]
	}
	if err := b.Column(0).Append(ids); err != nil {
		return err
	}
	if err := b.Column(1).Append(subjects); err != nil {
		return err
	}
	if err := b.Send(); err != nil {
		return fmt.Errorf("insert %d consent subjects: %w", len(pairs), err)
	}
	return nil
}

// noteConsents records the subjects of consent events about to be stored.
// It runs before they are inserted, so a stored consent event is always
// found by its consent_id.
func (s *verdictStore) noteConsents(ctx context.Context, ts []consentTouch) error {
	var pairs [][2]string
	seen := map[[2]string]bool{}
	for _, t := range ts {
		p := [2]string{t.consentID, t.subjectID}
		if !seen[p] {
			seen[p] = true
			pairs = append(pairs, p)
		}
	}
	return s.insertConsentSubjects(ctx, pairs)
}

// beforeInsert returns, before a batch drops the records already stored,
// the keys of those records and, for consents, every consent event of the
// batch (stored now or before: a retried batch re-evaluates them again).
func (w *Writer) beforeInsert(buf rows, keep []bool) (skipped []string, touches []consentTouch) {
	if w.o.Verdicts == nil {
		return nil, nil
	}
	if cr, ok := buf.(*consentRows); ok {
		return nil, cr.touches()
	}
	keys := buf.keys()
	for i, k := range keep {
		if !k {
			skipped = append(skipped, strings.Clone(keys[i]))
		}
	}
	return skipped, nil
}

// noteConsents records the subjects of a consent batch before it is stored.
func (w *Writer) noteConsents(ctx context.Context, touches []consentTouch) error {
	if w.o.Verdicts == nil {
		return nil
	}
	return w.o.Verdicts.noteConsents(ctx, touches)
}

// maintainVerdicts brings the verdict store up to date with a batch just
// stored: the verdicts of its events, including events found already
// stored without one; or the re-evaluations its consent events cause.
func (w *Writer) maintainVerdicts(ctx context.Context, buf rows, skipped []string, touches []consentTouch) error {
	v := w.o.Verdicts
	if v == nil {
		return nil
	}
	er, ok := buf.(*eventRows)
	if !ok {
		return v.reevaluate(ctx, touches)
	}
	evs := er.eventViews()
	err := v.evaluate(ctx, evs, func(ctx context.Context, res []audit.Evaluation, position uint64) error {
		return er.insertVerdicts(ctx, v.conn, v.sql.insert, evs, res, position)
	})
	if err != nil || len(skipped) == 0 {
		return err
	}
	found, err := v.recoverStored(ctx, skipped)
	if err != nil {
		return err
	}
	plain := make([]audit.Event, len(found))
	for i := range found {
		plain[i] = found[i].Event
	}
	return v.evaluate(ctx, plain, func(ctx context.Context, res []audit.Evaluation, position uint64) error {
		var cols verdictColumns
		now := time.Now().UTC().Truncate(time.Second)
		for _, i := range storeOrder(found) {
			cols.add(&found[i], res[i], position, now)
		}
		return cols.insert(ctx, v.conn, v.sql.insert, verdictBlockRows)
	})
}

// storeOrder returns the indexes of evs in access_verdicts' ORDER BY
// (subject_id, occurred_ns, event_id), so ClickHouse need not sort the
// block it stores.
func storeOrder(evs []storedEvent) []int {
	idx := make([]int, len(evs))
	for i := range idx {
		idx[i] = i
	}
	slices.SortFunc(idx, func(a, b int) int {
		x, y := &evs[a].Event, &evs[b].Event
		return cmp.Or(strings.Compare(x.SubjectID, y.SubjectID), x.OccurredAt.Compare(y.OccurredAt),
			strings.Compare(x.EventID, y.EventID))
	})
	return idx
}
