package console

import (
	"context"
	"crypto/sha256"
	"encoding/hex"

	"github.com/google/uuid"

	"github.com/privaudit/privaudit/audit"
	"github.com/privaudit/privaudit/audit/auth"
)

// The fixed fields of the access events recording console actions.
const (
	// SubjectID is the subject of a console action's event: the console
	// itself, not one customer.
	SubjectID = "privaudit:console"
	// Channel of every console event.
	Channel = audit.TrailChannelConsole
	// Purpose of a sign-in or sign-out.
	Purpose = "console_session"
)

// Console actions, in the event's console_action attribute.
const (
	actSignIn        = "sign_in"
	actSignOut       = "sign_out"
	actSignInRefused = "sign_in_refused"
)

// event builds the access event recording action by se's officer (the
// token's name is the actor). The session is named by a digest of its id,
// which links a sign-in to its sign-out without storing the cookie.
func (c *Console) event(se session, action, outcome, reason string) audit.Event {
	actor := se.Identity.Name
	if actor == "" {
		actor = "unknown"
	}
	keys, vals := []string{"console_action"}, []string{action}
	if reason != "" {
		keys, vals = append(keys, "reason"), append(vals, reason)
	}
	if se.ID != "" {
		sum := sha256.Sum256([]byte(se.ID))
		keys, vals = append(keys, "session"), append(vals, hex.EncodeToString(sum[:8]))
	}
	if se.Identity.TokenID != "" {
		keys, vals = append(keys, "token_id"), append(vals, se.Identity.TokenID)
	}
	return audit.Event{
		EventID: uuid.NewString(), OccurredAt: c.o.Now().UTC(),
		ActorID: actor, ActorType: "employee", SubjectID: SubjectID, Action: "read",
		DataCategories: []string{"audit_log"}, RecipientID: "internal", RecipientType: "internal",
		Purpose: Purpose, LegalBasis: "legal_obligation", Outcome: outcome, RecordCount: 0,
		Channel: Channel, AttrKeys: keys, AttrValues: vals,
	}
}

// recordRefusal records a refused sign-in: by the token's holder when the
// token is known (an ingest token), else by "unknown". What was pasted is
// never recorded or logged.
func (c *Console) recordRefusal(ctx context.Context, id auth.Identity, reason string) {
	if err := c.o.Record(ctx, c.event(session{Identity: id}, actSignInRefused, "denied", reason)); err != nil {
		c.o.Logger.Error("console: record refused sign-in", "err", err)
	}
}
