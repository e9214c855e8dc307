package audit

// The officers' trail: privaudit records each action of its own users — a
// report run (CLI, HTTP or web console), a schedule run started by hand, a download of a
// scheduled run's file, an ad-hoc or saved query — as an access event under
// the token's name, so the auditors are audited too. These constants are the
// fields that mark those events; their writers use them and the
// officer-activity report binds them as its SQL parameters.
const (
	// TrailPurposeReport is the purpose of report runs and run-file
	// downloads.
	TrailPurposeReport = "audit_report"
	// TrailPurposeQuery is the purpose of ad-hoc and saved query runs.
	TrailPurposeQuery = "audit_query"
	// TrailPurposeLegalHold is the purpose of an admin setting or lifting
	// a legal hold (audit/retention).
	TrailPurposeLegalHold = "audit_legal_hold"
	// TrailRecipient is the recipient id and type of every trail event:
	// privaudit's own users.
	TrailRecipient = "internal"
	// TrailLegalBasis is the legal basis of every trail event: the bank's
	// obligation to audit its processing.
	TrailLegalBasis = "legal_obligation"
	// TrailDataCategory is the data category of privaudit's own records:
	// what a query of the audit log reveals.
	TrailDataCategory = "audit_log"
	// TrailActorType is the actor type of an officer's action. Runs the
	// cron spec or a catch-up fired are the schedule's (ActorType system).
	TrailActorType = "employee"
)

// Channels of the trail events: how the action reached privaudit.
const (
	// TrailChannelAPI is a report run or query over the HTTP API (the CLI
	// is its client).
	TrailChannelAPI = "api"
	// TrailChannelSchedule is a report run the scheduler fired, recorded
	// under the schedule's name.
	TrailChannelSchedule = "schedule"
	// TrailChannelManual is a schedule run an officer started by hand
	// (`privaudit schedule run`), recorded under the officer's name.
	TrailChannelManual = "schedule_manual"
	// TrailChannelRunFile is a download of a scheduled run's file
	// (`privaudit runs get`, GET /v1/runs/{id}/files/{name}).
	TrailChannelRunFile = "run_file"
	// TrailChannelConsole is an action in the officers' web console: a
	// report downloaded from its Reports page (and the console's sign-ins,
	// which have their own purpose).
	TrailChannelConsole = "console"
)
