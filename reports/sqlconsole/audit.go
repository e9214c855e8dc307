package sqlconsole

import (
	"crypto/rand"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/privaudit/privaudit/audit"
)

// The fixed fields of the access event recording a query run.
const (
	// SubjectID is the subject of every query-run event: the queries read
	// privaudit's audit log as a whole, not one customer.
	SubjectID = "privaudit:query"
	// Purpose of every query-run event.
	Purpose = audit.TrailPurposeQuery
	// DataCategory of every query-run event.
	DataCategory = audit.TrailDataCategory
)

// maxSQLAttr bounds the SQL text kept in the event (the wire contract's
// attribute value limit).
const maxSQLAttr = audit.MaxAttrValueLen

// auditEvent builds the access event recording run ru: who (the token's
// name) read privaudit's audit log, for audit_query, how many rows came
// back, and — in attributes — the SQL text, the saved query, the names (not
// values) of its parameters and how the run ended.
func auditEvent(ru *run, now time.Time, errKind string) audit.Event {
	attrs := map[string]string{
		"duration_ms": strconv.FormatInt(now.Sub(ru.start).Milliseconds(), 10),
		"format":      ru.req.Format,
		"status":      ru.status(),
		"truncated":   strconv.FormatBool(ru.truncated),
	}
	if ru.sql != "" {
		attrs["sql"] = clip(ru.sql, maxSQLAttr)
	}
	if ru.req.Saved != "" {
		attrs["saved"] = clip(ru.req.Saved, 256)
	}
	if len(ru.params) > 0 {
		attrs["params"] = clip(strings.Join(ru.params, ","), 1024)
	}
	if ru.queryID != "" {
		attrs["query_id"] = ru.queryID
	}
	if ru.err != nil {
		attrs["error"] = errKind
	}
	ev := audit.Event{
		EventID: newUUID(), OccurredAt: ru.start.UTC(),
		ActorID: clip(ru.user, audit.MaxStringLen), ActorType: audit.TrailActorType,
		SubjectID: SubjectID, Action: "read", DataCategories: []string{DataCategory},
		RecipientID: audit.TrailRecipient, RecipientType: audit.TrailRecipient,
		Purpose: Purpose, LegalBasis: audit.TrailLegalBasis,
		Outcome: "allowed", RecordCount: uint64(max(ru.rows, 0)),
		Channel: audit.TrailChannelAPI, RequestID: ru.queryID,
	}
	if ev.ActorID == "" {
		ev.ActorID = "unknown"
	}
	if ru.status() == "refused" {
		ev.Outcome = "denied"
	}
	for _, k := range slices.Sorted(maps.Keys(attrs)) {
		ev.AttrKeys = append(ev.AttrKeys, k)
		ev.AttrValues = append(ev.AttrValues, attrs[k])
	}
	return ev
}

// clip makes s a string a record may hold (audit.ScrubText) of at most n
// bytes; a cut string ends with a marker saying how long it was.
func clip(s string, n int) string {
	s = audit.ScrubText(s)
	if len(s) <= n {
		return s
	}
	marker := fmt.Sprintf("… [truncated, %d bytes in all]", len(s))
	cut := n - len(marker)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + marker
}

// newUUID returns a random (version 4) UUID.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
