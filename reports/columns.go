package reports

import "github.com/privaudit/privaudit/reports/render"

// columnWords gives each column identifier of the built-in reports its
// plain-word header and meaning: the xlsx shows the header and lists the
// identifier and meaning on its About sheet, while csv and json keep the
// identifiers (SPEC §4). A definition may set its own Label or
// Description where a column means something narrower in that report.
var columnWords = map[string][2]string{
	"event_id":            {"Event id", "The access event's unique id (UUID), as the sending system gave it."},
	"occurred_at":         {"Occurred at", "When the access happened."},
	"subject_id":          {"Customer id", "The customer whose data it is (subject_id)."},
	"recipient_id":        {"Recipient", "Who received the data; internal means in-house use."},
	"recipient_type":      {"Recipient type", "internal, processor, affiliate, third_party, subject or authority."},
	"purpose":             {"Purpose", "What the data was used for."},
	"purposes":            {"Purposes", "The purposes, joined with ; in csv."},
	"data_categories":     {"Data categories", "The kinds of data, e.g. account_balance; joined with ; in csv."},
	"data_category":       {"Data category", "One kind of data, e.g. account_balance."},
	"record_count":        {"Records touched", "How many records the access touched."},
	"legal_basis":         {"Legal basis", "consent, contract, legal_obligation, vital_interests, public_task or legitimate_interests."},
	"legal_bases":         {"Legal bases", "The legal bases the accesses relied on."},
	"consent_id":          {"Consent that decided", "The consent that decided the verdict: the one that covered the access, or the one whose check failed."},
	"verdict":             {"Verdict", "The consent-coverage verdict (SPEC §3); the Legend sheet explains each."},
	"detail":              {"Why (verdict detail)", "Why the verdict was reached, e.g. the data categories the consent lacks."},
	"missing_categories":  {"Categories not covered", "The data categories the consent did not cover."},
	"action":              {"Action", "read, share, export, transfer, update or delete."},
	"actions":             {"Actions", "The actions seen (read, share, export, transfer, update, delete)."},
	"actor_id":            {"Performed by", "Who performed the access: a service, employee, partner or system id."},
	"actor_type":          {"Performer type", "service, employee, partner, system or subject."},
	"channel":             {"Channel", "How the access happened, e.g. api, messenger, batch_file."},
	"jurisdiction":        {"Jurisdiction", "Where the access happened, e.g. EU-DE."},
	"request_id":          {"Request id", "The sending system's correlation id."},
	"disclosure":          {"Disclosure?", "true when the access is a disclosure (see the Legend sheet)."},
	"outcome":             {"Outcome", "allowed, or denied when the request was refused."},
	"record_type":         {"Record type", "access for an access event, consent for a consent event."},
	"events":              {"Events", "How many access events."},
	"subjects":            {"Customers", "How many distinct customers."},
	"records":             {"Records", "How many records, summed over the events."},
	"first_seen":          {"First seen", "The earliest access of the period."},
	"last_seen":           {"Last seen", "The latest access of the period."},
	"covered_pct":         {"Covered by consent (%)", "Of the disclosures relying on consent, the share a consent covered, in percent."},
	"violations":          {"Violations", "How many accesses no consent covered (see the Legend sheet)."},
	"consent_event_id":    {"Consent event id", "The consent event's unique id."},
	"status":              {"Status", "granted or withdrawn."},
	"effective_at":        {"Effective at", "When the consent event took effect."},
	"expires_at":          {"Expires at", "When the consent expires; empty when it does not."},
	"ingested_at":         {"Recorded at", "When privaudit received the consent event."},
	"backdated":           {"Backdated?", "true when recorded more than backdated_days after it took effect."},
	"recorded_after_days": {"Recorded after (days)", "Days between taking effect and being recorded."},
	"method":              {"Consent method", "How the consent was collected."},
	"notice_version":      {"Notice version", "The privacy notice version the customer saw."},
	"proof_sha256":        {"Proof (SHA-256)", "SHA-256 of the proof of consent."},
	"times_disclosed":     {"Times disclosed", "How many identical disclosures this row stands for."},
	"first_disclosed":     {"First disclosed", "The first of those disclosures."},
	"last_disclosed":      {"Last disclosed", "The last of those disclosures."},
	"after_hours_events":  {"After-hours events", "Accesses outside working hours (UTC) or on weekends."},
	"denied_events":       {"Denied events", "Requests that were refused."},
	"hour":                {"Hour of day (UTC)", "The hour of the day, in UTC."},
	"activity":            {"Activity", "What the officer did: report run, schedule run by hand, run-file download, ad-hoc or saved query."},
	"what":                {"What", "The report, file or saved query concerned."},
	"schedule":            {"Schedule", "The schedule of a scheduled run or downloaded run file."},
	"run_id":              {"Run id", "The scheduled run concerned."},
	"period_from":         {"Period from", "Start of the period the report covered (inclusive)."},
	"period_to":           {"Period to", "End of the period the report covered (exclusive)."},
	"parameters":          {"Parameters", "The names of the parameters given (never their values)."},
	"output_format":       {"Format", "The file format produced."},
	"row_count":           {"Rows", "How many rows the action revealed."},
	"result":              {"Result", "ok, or why the action was refused or failed."},
}

// withWords fills each column's Label and Description from columnWords
// where the definition sets none, and names pivot row headers that are
// column identifiers in the same words.
func withWords(d Definition) Definition {
	cols := make([]render.Column, len(d.Columns))
	for i, c := range d.Columns {
		w := columnWords[c.Name]
		if c.Label == "" {
			c.Label = w[0]
		}
		if c.Description == "" {
			c.Description = w[1]
		}
		cols[i] = c
	}
	d.Columns = cols
	sums := make([]SummarySpec, len(d.Summary))
	for i, s := range d.Summary {
		if s.Pivot != nil {
			p := *s.Pivot
			p.RowHeader = headerWords(p.RowHeader)
			s.Pivot = &p
		}
		rs := make([]PivotSpec, len(s.Rollup))
		for j, p := range s.Rollup {
			p.RowHeader = headerWords(p.RowHeader)
			rs[j] = p
		}
		if s.Rollup != nil {
			s.Rollup = rs
		}
		sums[i] = s
	}
	d.Summary = sums
	return d
}

// headerWords is the plain-word header of a column identifier, or h itself.
func headerWords(h string) string {
	if w, ok := columnWords[h]; ok {
		return w[0]
	}
	return h
}
