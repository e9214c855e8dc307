// Package retention enforces how long privaudit keeps its records: a job
// drops whole monthly partitions past each table's retention, unless a
// legal hold keeps them, and records every drop before and after it (see
// queries/migrations/0090_retention.sql).
package retention

import (
	"errors"
	"fmt"
	"slices"
	"time"
)

// MinRecordMonths is the shortest retention of the record tables: 12 CFR
// 1033.441 (US Personal Financial Data Rights) asks for records kept 3
// years after the last authorization.
const MinRecordMonths = 36

// DefaultMonths is the retention of every table unless configured: 7 years.
const DefaultMonths = 84

// DefaultEvery is how often the job runs.
const DefaultEvery = 24 * time.Hour

// Table is one table the job enforces a retention on: monthly partitions
// by toYYYYMM(TimeColumn).
type Table struct {
	// Name is the table's name; Meta says it lives in the meta database.
	Name string
	Meta bool
	// Record says it holds the audit records themselves (the 36-month
	// floor applies); Subject that it has a subject_id column, so a
	// subject's legal hold applies to it.
	Record, Subject bool
	// Kind is the proof log kind of the table's records ('events',
	// 'consents'), "" when they are not proof log leaves.
	Kind string
}

// Tables are the tables partitioned by month, in the order the job visits
// them. Tables not partitioned by month (keys, tokens, leases, these
// bookkeeping tables) are kept.
var Tables = []Table{
	{Name: "access_events", Record: true, Subject: true, Kind: "events"},
	{Name: "consent_events", Record: true, Subject: true, Kind: "consents"},
	{Name: "access_verdicts", Record: true, Subject: true},
	{Name: "ingest_batches", Meta: true},
	{Name: "report_runs", Meta: true},
	{Name: "report_deliveries", Meta: true},
}

// Policy is each table's retention in months, by table name; 0 keeps a
// table's records forever.
type Policy map[string]int

// DefaultPolicy keeps every table DefaultMonths.
func DefaultPolicy() Policy {
	p := Policy{}
	for _, t := range Tables {
		p[t.Name] = DefaultMonths
	}
	return p
}

// Validate refuses an unknown table, a negative retention, and a record
// table kept less than MinRecordMonths, naming the rule.
func (p Policy) Validate() error {
	return p.validate(MinRecordMonths)
}

func (p Policy) validate(floor int) error {
	var errs []error
	for name, m := range p {
		i := slices.IndexFunc(Tables, func(t Table) bool { return t.Name == name })
		switch {
		case i < 0:
			errs = append(errs, fmt.Errorf("retention: unknown table %q", name))
		case m < 0:
			errs = append(errs, fmt.Errorf("retention.%s_months %d: want 0 (keep forever) or a number of months", name, m))
		case m > 0 && m < floor && Tables[i].Record:
			errs = append(errs, fmt.Errorf("retention.%s_months %d: at least %d months (0 keeps forever): 12 CFR 1033.441 asks for records kept 3 years after the last authorization",
				name, m, floor))
		}
	}
	return errors.Join(errs...)
}

// cutoff is the end a partition's month must not pass for it to be
// dropped: a partition whose month ended by now minus months is past its
// retention.
func cutoff(now time.Time, months int) time.Time {
	return now.UTC().AddDate(0, -months, 0)
}

// monthRange is the month of a YYYYMM partition id, [from, to).
func monthRange(id string) (from, to time.Time, ok bool) {
	if len(id) != 6 {
		return time.Time{}, time.Time{}, false
	}
	t, err := time.Parse("200601", id)
	if err != nil {
		return time.Time{}, time.Time{}, false
	}
	return t, t.AddDate(0, 1, 0), true
}
