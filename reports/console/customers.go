package console

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/privaudit/privaudit/audit"
	"github.com/privaudit/privaudit/audit/apierr"
	"github.com/privaudit/privaudit/reports"
)

// actCustomerLookup marks a lookup's recorded run (attribute
// console_action); its downloads are the Reports page's.
const actCustomerLookup = "customer_lookup"

// lookupForm is the customer lookup's form as sent (the address's query).
type lookupForm struct {
	SubjectID, From, To string
}

// customersData is what templates/customers.html shows.
type customersData struct {
	Form     lookupForm
	Error    string // why the lookup failed and what to do
	Looked   bool   // a lookup ran
	Period   string
	Timeline reports.Timeline
	Entries  []entryView
	Counts   struct{ Accesses, Disclosures, Violations, Consents int }
	// Downloads are the subject-access files, per audience.
	Downloads []downloadGroup
	Formats   []string
}

// entryView is one timeline entry with what the page says about it.
type entryView struct {
	reports.TimelineEntry
	Meaning   string // the verdict in plain words
	Violation bool
	ByAt      time.Time // when the deciding consent change took effect
	Decided   []decidedView
}

// decidedView is one access a consent change decided.
type decidedView struct {
	ID, Verdict string
	At          time.Time
	Disclosure  bool
}

type downloadGroup struct {
	Title, Note string
	Links       []downloadLink
}

type downloadLink struct{ Format, Href string }

// defaultLookupDays is how far back a lookup looks by default.
const defaultLookupDays = 365

// maxTimelineEntries bounds the entries a timeline page shows (the oldest);
// the page says how many more there are and the downloads have them all.
const maxTimelineEntries = 2000

// customers shows the lookup form and, for a subject_id, that customer's
// timeline, oldest first. Showing it is recorded as a run of the
// subject-access report under the officer's name (Runner.Timeline).
func (c *Console) customers(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	today := c.o.Now().UTC().Truncate(24 * time.Hour)
	d := customersData{Form: lookupForm{SubjectID: strings.TrimSpace(q.Get("subject_id")), From: q.Get("from"), To: q.Get("to")}}
	if d.Form.From == "" {
		d.Form.From = today.AddDate(0, 0, -defaultLookupDays).Format(time.DateOnly)
	}
	if d.Form.To == "" {
		d.Form.To = today.AddDate(0, 0, 1).Format(time.DateOnly)
	}
	status := http.StatusOK
	if q.Has("subject_id") {
		status = c.lookup(r, &d)
	}
	c.render(w, r, status, "customers", page{Title: "Customer lookup", Nav: "customers", Data: d})
}

// lookup reads the timeline of d.Form into d and returns the status.
func (c *Console) lookup(r *http.Request, d *customersData) int {
	if d.Form.SubjectID == "" {
		d.Error = "Type the customer's subject_id (as your systems record it, e.g. cust-01) and press Look up."
		return http.StatusBadRequest
	}
	from, to, err := lookupPeriod(d.Form)
	if err != nil {
		d.Error = err.Error()
		return http.StatusBadRequest
	}
	se := sessionFrom(r.Context())
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Minute)
	defer cancel()
	tl, err := c.o.Reports.Timeline(ctx, reports.TimelineRequest{SubjectID: d.Form.SubjectID, From: from, To: to,
		Actor: se.Identity.Name, Channel: Channel, Attrs: map[string]string{"console_action": actCustomerLookup},
		Limit: maxTimelineEntries})
	if err != nil {
		return c.lookupFailed(d, err)
	}
	d.Looked, d.Timeline, d.Period = true, tl, reports.PeriodText(from, to, time.UTC)
	d.Entries = entryViews(tl.Entries)
	for _, e := range tl.Entries {
		switch {
		case e.Kind == reports.EntryConsent:
			d.Counts.Consents++
		default:
			d.Counts.Accesses++
			if e.Disclosure {
				d.Counts.Disclosures++
			}
			if audit.Verdict(e.Verdict).IsViolation() {
				d.Counts.Violations++
			}
		}
	}
	d.Formats = c.o.Reports.FormatNames()
	d.Downloads = downloadGroups(d.Form, d.Formats)
	return http.StatusOK
}

// lookupFailed explains a failed lookup on the page and returns the status.
func (c *Console) lookupFailed(d *customersData, err error) int {
	var ae *apierr.Error
	if errors.As(err, &ae) && ae.Code == apierr.Invalid {
		d.Error = ae.Message + "."
		return http.StatusBadRequest
	}
	c.o.Logger.Error("console: customer lookup", "err", err)
	d.Error = "The customer's records could not be read or the lookup could not be recorded just now. Try again in a minute; if it persists, ask an admin to check privaudit's log and ClickHouse."
	return http.StatusServiceUnavailable
}

// lookupPeriod parses the form's period: dates or RFC 3339 timestamps,
// to not included.
func lookupPeriod(f lookupForm) (time.Time, time.Time, error) {
	from, err := reports.ParseTime(f.From)
	if err != nil {
		return from, from, fmt.Errorf("From: %v. Give the first day, like 2026-10-01", err)
	}
	to, err := reports.ParseTime(f.To)
	if err != nil {
		return from, to, fmt.Errorf("Up to: %v. Give the day after the last one, like 2026-11-01", err)
	}
	if !from.Before(to) {
		return from, to, fmt.Errorf("The period is empty: From (%s) must be before Up to (%s), which is not included", f.From, f.To)
	}
	return from, to, nil
}

// entryViews adds plain words and the links' times to the entries.
func entryViews(es []reports.TimelineEntry) []entryView {
	byID := map[string]int{}
	for i, e := range es {
		byID[e.ID] = i
	}
	out := make([]entryView, len(es))
	for i, e := range es {
		v := entryView{TimelineEntry: e}
		if e.Kind == reports.EntryAccess {
			v.Meaning, _, _ = audit.VerdictMeaning(e.Verdict)
			v.Violation = audit.Verdict(e.Verdict).IsViolation()
		}
		if j, ok := byID[e.DecidedBy]; ok && e.DecidedBy != "" {
			v.ByAt = es[j].At
		}
		for _, id := range e.Decides {
			a := es[byID[id]]
			v.Decided = append(v.Decided, decidedView{ID: a.ID, Verdict: a.Verdict, At: a.At, Disclosure: a.Disclosure})
		}
		out[i] = v
	}
	return out
}

// downloadGroups are the subject-access download links of f, in the
// officer's and the customer's version.
func downloadGroups(f lookupForm, formats []string) []downloadGroup {
	groups := []downloadGroup{
		{Title: "Officer's version", Note: "subject-access: every row with its ids, verdicts and the SQL that made it."},
		{Title: "Customer-ready version", Note: "subject-access-customer: the same rows in plain words, with no internal ids, to send to the customer."},
	}
	for i, aud := range []string{"officer", "customer"} {
		for _, fm := range formats {
			groups[i].Links = append(groups[i].Links, downloadLink{Format: fm,
				Href: Prefix + "reports/" + reports.SubjectAccess + "/download?" + url.Values{"param.subject_id": {f.SubjectID},
					"from": {f.From}, "to": {f.To}, "audience": {aud}, "format": {fm}}.Encode()})
		}
	}
	return groups
}

// timeText is how the timeline shows an instant: UTC, to the millisecond
// when it has one.
func timeText(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	if t.Nanosecond() != 0 {
		return t.UTC().Format("2006-01-02 15:04:05.000 UTC")
	}
	return t.UTC().Format("2006-01-02 15:04:05 UTC")
}

// ISO is the entry's time for the datetime attribute.
func (v entryView) ISO() string { return v.At.UTC().Format(time.RFC3339Nano) }

// AtText is the entry's time as shown.
func (v entryView) AtText() string { return timeText(v.At) }

// ExpiresText is a grant's expiry as shown.
func (v entryView) ExpiresText() string { return timeText(v.ExpiresAt) }

// ByText is when the deciding consent change took effect.
func (v entryView) ByText() string { return timeText(v.ByAt) }

// Headline names what happened.
func (v entryView) Headline() string {
	if v.Kind == reports.EntryConsent {
		if v.Action == "consent_withdrawn" {
			return "Consent withdrawn for " + v.RecipientID
		}
		return "Consent given for " + v.RecipientID
	}
	what := "Access"
	if v.Disclosure {
		what = "Disclosure"
	}
	return fmt.Sprintf("%s: %s, recipient %s (%s)", what, v.Action, v.RecipientID, v.RecipientType)
}

// UndecidedText says why no consent change is linked to an access.
func (v entryView) UndecidedText() string {
	switch audit.Verdict(v.Verdict) {
	case audit.VerdictDenied:
		return "No consent: the request was refused."
	case audit.VerdictOtherBasis:
		return "No consent: the access relied on the legal basis " + v.LegalBasis + "."
	case audit.VerdictNoConsent:
		return "No consent of this customer for this recipient was in force."
	case audit.VerdictConsentUnknown:
		return "The access named consent " + v.ConsentID + ", of which nothing was recorded in force at the time."
	}
	return "Consent " + v.ConsentID + ", whose changes are not on this customer's timeline (it is another customer's)."
}

// Text describes an access a consent change decided.
func (d decidedView) Text() string {
	what := "access"
	if d.Disclosure {
		what = "disclosure"
	}
	return fmt.Sprintf("%s, %s: %s", timeText(d.At), what, d.Verdict)
}
