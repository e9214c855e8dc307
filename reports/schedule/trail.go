package schedule

import (
	"maps"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/google/uuid"

	"github.com/privaudit/privaudit/audit"
	"github.com/privaudit/privaudit/audit/apierr"
	"github.com/privaudit/privaudit/audit/auth"
	"github.com/privaudit/privaudit/reports"
)

// recordDownload records that the caller of r is handed file of run, as an
// export under the token's name (audit.TrailChannelRunFile). It is called
// before the first byte is sent: a download that cannot be recorded is
// refused (503) rather than served unrecorded, as a report run that cannot
// be recorded fails. A transfer cut short after the record stays recorded:
// the record says the file was handed out, not that the client kept it.
func (s *Scheduler) recordDownload(r *http.Request, run Run, file File) error {
	id, ok := auth.FromContext(r.Context())
	if !ok || s.o.Runner == nil {
		return apierr.Errorf(apierr.Unavailable, "run files are handed out only to a known token, and every download is recorded: this server cannot record it")
	}
	ev := s.downloadEvent(id.Name, run, file, s.now())
	if err := s.o.Runner.Record(r.Context(), ev); err != nil {
		s.log.Error("run file not served: the download could not be recorded", "run_id", run.ID, "file", file.Name, "err", err)
		e := apierr.Errorf(apierr.Unavailable, "file %s of run %s is not served: its download could not be recorded (%v); try again shortly", file.Name, run.ID, err)
		e.RetryAfter = 30 * time.Second
		return e
	}
	return nil
}

// downloadEvent is the access event recording that who was handed file of
// run: the report's data categories and, for a report about one customer,
// that customer as its subject (so the download shows in their own
// subject-access report), as the run's renderings are recorded. The
// customer is read from the schedule as configured now; a schedule no
// longer configured leaves RunSubjectAll.
func (s *Scheduler) downloadEvent(who string, run Run, file File, now time.Time) audit.Event {
	subject, categories := reports.RunSubjectAll, []string{audit.TrailDataCategory}
	if def, ok := s.o.Runner.Catalog().Lookup(run.Report); ok {
		categories = def.Categories
		if j, ok := s.byName[run.Schedule]; ok && def.SubjectParam != "" && j.cfg.Params[def.SubjectParam] != "" {
			subject = j.cfg.Params[def.SubjectParam]
		}
	}
	attrs := map[string]string{
		"schedule": run.Schedule, "run_id": run.ID, "report": run.Report, "file": file.Name, "format": file.Format,
		"sha256": file.SHA256, "bytes": strconv.FormatInt(file.Size, 10), "rows": strconv.FormatInt(run.Rows, 10),
		"from": reports.RecordedBound(run.From), "to": reports.RecordedBound(run.To),
	}
	ev := audit.Event{
		EventID: uuid.NewString(), OccurredAt: now.UTC(), ActorID: who, ActorType: audit.TrailActorType,
		SubjectID: subject, Action: reports.RunAction, DataCategories: categories,
		RecipientID: audit.TrailRecipient, RecipientType: audit.TrailRecipient,
		Purpose: audit.TrailPurposeReport, LegalBasis: audit.TrailLegalBasis, Outcome: "allowed",
		RecordCount: uint64(max(run.Rows, 0)), Channel: audit.TrailChannelRunFile, RequestID: run.ID,
	}
	for _, k := range slices.Sorted(maps.Keys(attrs)) {
		ev.AttrKeys = append(ev.AttrKeys, k)
		ev.AttrValues = append(ev.AttrValues, attrs[k])
	}
	return ev
}
