package reports

import (
	"maps"
	"sort"
	"strconv"
	"time"

	"github.com/google/uuid"

	"github.com/privaudit/privaudit/audit"
	"github.com/privaudit/privaudit/reports/render"
)

// What a report run is recorded as: an export of personal data to
// privaudit's own users, for the audit report, under a legal obligation.
const (
	RunSubjectAll   = "privaudit:report" // subject of runs over many customers
	RunPurpose      = audit.TrailPurposeReport
	RunLegalBasis   = audit.TrailLegalBasis
	RunRecipient    = audit.TrailRecipient
	RunAction       = "export"
	defaultChannel  = audit.TrailChannelAPI
	defaultActorTyp = audit.TrailActorType
)

// event is the access event that records a finished run: who ran which
// report over which period, parameters and filters, the consent ledger position its
// verdicts reflect, the proof log checkpoint it read under, how many rows it revealed and the digest of what it
// revealed, and the request's own attributes (RunRequest.Attrs).
func (p *Plan) event(now time.Time, res render.Result, st readState) audit.Event {
	d := p.Definition
	subject := RunSubjectAll
	attrs := maps.Clone(p.req.Attrs)
	if attrs == nil {
		attrs = map[string]string{}
	}
	maps.Copy(attrs, map[string]string{
		"report": d.Name, "from": RecordedBound(p.req.From), "to": RecordedBound(p.req.To),
		"format": p.Format, "rows": strconv.FormatInt(res.Rows, 10), "sha256": res.SHA256,
		"ledger_position": st.ledger.Value(), "checkpoint": st.checkpoint.Value(),
	})
	for _, rp := range p.params {
		attrs["param."+rp.Name] = rp.Value
		if rp.Name == d.SubjectParam {
			subject = rp.Value
		}
	}
	for _, f := range p.filters {
		attrs["filter."+f.Name] = f.Value
	}
	ev := audit.Event{
		EventID: uuid.NewString(), OccurredAt: now.UTC(),
		ActorID: p.req.Actor, ActorType: orDefault(p.req.ActorType, defaultActorTyp),
		SubjectID: subject, Action: RunAction, DataCategories: d.Categories,
		RecipientID: RunRecipient, RecipientType: RunRecipient, Purpose: RunPurpose, LegalBasis: RunLegalBasis,
		Outcome: "allowed", RecordCount: uint64(res.Rows),
		Channel: orDefault(p.req.Channel, defaultChannel), RequestID: p.req.RequestID,
	}
	keys := make([]string, 0, len(attrs))
	for k := range attrs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		ev.AttrKeys = append(ev.AttrKeys, k)
		ev.AttrValues = append(ev.AttrValues, attrs[k])
	}
	return ev
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}
