package ingest

import (
	"sync"
	"time"

	"github.com/privaudit/privaudit/audit"
)

// flowWindow is how far back Health's records per second look.
const flowWindow = time.Minute

// Health is the intake's state for people (the console's overview): what
// /metrics and /readyz expose, read in Go.
type Health struct {
	// Since is when this ingestor opened: the counts are since then.
	Since time.Time
	// Kinds are the events' then the consents' figures.
	Kinds []KindHealth
}

// KindHealth is the intake of one record kind.
type KindHealth struct {
	Kind audit.Kind
	// PerSecond is the records accepted per second over the last minute.
	PerSecond float64
	// LastAccepted is when a record was last accepted; zero for none
	// since Since.
	LastAccepted time.Time
	// Accepted counts the records accepted (acknowledged) since Since.
	Accepted int64
	// SpoolRecords and SpoolBytes wait in the spool for ClickHouse;
	// SpoolMaxBytes is the spool's limit.
	SpoolRecords, SpoolBytes, SpoolMaxBytes int64
	// RejectedRequests counts the ingest requests answered with an error
	// (invalid, unauthorised, too large, spool full …); RejectedRecords
	// the invalid records in them.
	RejectedRequests, RejectedRecords int64
}

// flow keeps, per record kind, what Health reports beside the spools:
// the records accepted in each second of the last minute, the last
// acceptance, and the totals.
type flow struct {
	mu    sync.Mutex
	since time.Time
	kinds map[audit.Kind]*kindFlow
}

type kindFlow struct {
	secs                         [60]struct{ at, n int64 } // by Unix second modulo 60
	last                         time.Time
	accepted, rejReqs, rejRecord int64
}

func newFlow(now time.Time) *flow {
	return &flow{since: now, kinds: map[audit.Kind]*kindFlow{audit.KindEvents: {}, audit.KindConsents: {}}}
}

func (f *flow) accepted(k audit.Kind, n int, now time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	kf := f.kinds[k]
	s := now.Unix()
	b := &kf.secs[s%60]
	if b.at != s {
		b.at, b.n = s, 0
	}
	b.n += int64(n)
	kf.accepted += int64(n)
	kf.last = now
}

func (f *flow) rejected(k audit.Kind, requests, records int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.kinds[k].rejReqs += int64(requests)
	f.kinds[k].rejRecord += int64(records)
}

// kind returns k's figures at now (the spool's are the caller's).
func (f *flow) kind(k audit.Kind, now time.Time) KindHealth {
	f.mu.Lock()
	defer f.mu.Unlock()
	kf := f.kinds[k]
	h := KindHealth{Kind: k, LastAccepted: kf.last, Accepted: kf.accepted, RejectedRequests: kf.rejReqs, RejectedRecords: kf.rejRecord}
	from := now.Add(-flowWindow).Unix()
	var n int64
	for _, b := range kf.secs {
		if b.at > from && b.at <= now.Unix() {
			n += b.n
		}
	}
	window := min(flowWindow, now.Sub(f.since))
	if window > 0 {
		h.PerSecond = float64(n) / max(window.Seconds(), 1)
	}
	return h
}

// Health returns the intake's state: per kind, records per second over the
// last minute, the last acceptance, the spool's depth and the rejections
// since the ingestor opened.
func (in *Ingestor) Health() Health {
	now := in.now()
	h := Health{Since: in.flow.since}
	for _, k := range []audit.Kind{audit.KindEvents, audit.KindConsents} {
		kh := in.flow.kind(k, now)
		if sp := in.spools[k]; sp != nil {
			st := sp.Stats()
			kh.SpoolRecords, kh.SpoolBytes, kh.SpoolMaxBytes = st.PendingRecords, st.PendingBytes+st.QueuedBytes, st.MaxBytes
		}
		h.Kinds = append(h.Kinds, kh)
	}
	return h
}

// accepted counts n records of kind k accepted into the spool (dups
// duplicates skipped), in the metrics and in Health.
func (in *Ingestor) accepted(k audit.Kind, n, dups int) {
	in.metrics.records.WithLabelValues(string(k)).Add(float64(n))
	in.metrics.duplicates.WithLabelValues(string(k)).Add(float64(dups))
	in.flow.accepted(k, n, in.now())
}
