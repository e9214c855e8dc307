package ingest

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/privaudit/privaudit/audit"
)

// Metrics are the ingest pipeline's Prometheus metrics.
type Metrics struct {
	requests    *prometheus.CounterVec
	records     *prometheus.CounterVec
	rejected    *prometheus.CounterVec
	requestTime *prometheus.HistogramVec
	batchSize   *prometheus.HistogramVec
	batchTime   *prometheus.HistogramVec
	inserted    *prometheus.CounterVec
	duplicates  *prometheus.CounterVec
	writeErrors *prometheus.CounterVec
	keyLookups  *prometheus.CounterVec
	verdicts    *prometheus.CounterVec
	verdictTime *prometheus.HistogramVec
	reevalRead  *prometheus.CounterVec
}

// NewMetrics creates the metrics and registers them with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	kind := []string{"kind"}
	m := &Metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "privaudit_ingest_requests_total",
			Help: "Ingest requests by kind and HTTP status code."}, []string{"kind", "code"}),
		records: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "privaudit_ingest_records_accepted_total",
			Help: "Records accepted into the spool (acknowledged to clients)."}, kind),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "privaudit_ingest_records_rejected_total",
			Help: "Records in requests rejected as invalid."}, kind),
		requestTime: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "privaudit_ingest_request_seconds",
			Help: "Ingest request latency, including the spool fsync.", Buckets: prometheus.ExponentialBuckets(0.001, 2, 14)}, kind),
		batchSize: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "privaudit_ingest_batch_records",
			Help: "Records per ClickHouse insert.", Buckets: prometheus.ExponentialBuckets(10, 4, 9)}, kind),
		batchTime: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "privaudit_ingest_batch_seconds",
			Help: "Time to write one batch to ClickHouse.", Buckets: prometheus.ExponentialBuckets(0.005, 2, 14)}, kind),
		inserted: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "privaudit_ingest_records_stored_total",
			Help: "Records inserted into ClickHouse."}, kind),
		duplicates: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "privaudit_ingest_records_duplicate_total",
			Help: "Records skipped because their key was already stored or repeated in the request."}, kind),
		writeErrors: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "privaudit_ingest_write_errors_total",
			Help: "Failed ClickHouse batch writes (the records stay in the spool and are retried)."}, kind),
		keyLookups: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "privaudit_ingest_key_lookups_total",
			Help: "Keys looked up in ClickHouse because the key filter may hold them (duplicates and false positives)."}, kind),
		verdicts: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "privaudit_verdicts_written_total",
			Help: "Verdict rows written to the verdict store: evaluate (events just stored) and reevaluate (verdicts a new consent event changed)."}, []string{"step"}),
		verdictTime: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "privaudit_verdicts_batch_seconds",
			Help: "Time to evaluate one batch of events, or re-evaluate after one batch of consents.", Buckets: prometheus.ExponentialBuckets(0.005, 2, 14)}, []string{"step"}),
		reevalRead: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "privaudit_verdicts_reevaluation_rows_read_total",
			Help: "Rows ClickHouse read to re-evaluate after consent batches: table access_verdicts (the verdicts they may change) and consent_events (their ledger)."}, []string{"table"}),
	}
	if reg != nil {
		reg.MustRegister(m.requests, m.records, m.rejected, m.requestTime, m.batchSize, m.batchTime,
			m.inserted, m.duplicates, m.writeErrors, m.keyLookups, m.verdicts, m.verdictTime, m.reevalRead)
	}
	return m
}

func (m *Metrics) observeBatch(k audit.Kind, inserted, dups int, d time.Duration) {
	m.batchSize.WithLabelValues(string(k)).Observe(float64(inserted + dups))
	m.batchTime.WithLabelValues(string(k)).Observe(d.Seconds())
	m.inserted.WithLabelValues(string(k)).Add(float64(inserted))
	m.duplicates.WithLabelValues(string(k)).Add(float64(dups))
}

func (m *Metrics) observeVerdicts(step string, written int, d time.Duration) {
	m.verdicts.WithLabelValues(step).Add(float64(written))
	m.verdictTime.WithLabelValues(step).Observe(d.Seconds())
}

func (m *Metrics) observeReevaluation(ledgerRead, verdictsRead uint64, written int, d time.Duration) {
	m.reevalRead.WithLabelValues("consent_events").Add(float64(ledgerRead))
	m.reevalRead.WithLabelValues("access_verdicts").Add(float64(verdictsRead))
	m.observeVerdicts("reevaluate", written, d)
}
