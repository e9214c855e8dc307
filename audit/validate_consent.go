package audit

import (
	"strings"
	"time"
)

// Field numbers of a consent event; bit i stands for consentWireFields[i].
const (
	coConsentEventID = iota
	coConsentID
	coSubjectID
	coRecipientID
	coStatus
	coPurposes
	coDataCategories
	coEffectiveAt
	coExpiresAt
	coMethod
	coNoticeVersion
	coJurisdiction
	coProofSHA256
	coAttributes
)

var consentWireFields = [...]string{
	"consent_event_id", "consent_id", "subject_id", "recipient_id", "status",
	"purposes", "data_categories", "effective_at", "expires_at", "method",
	"notice_version", "jurisdiction", "proof_sha256", "attributes",
}

const consentRequired = 1<<coConsentEventID | 1<<coConsentID | 1<<coSubjectID |
	1<<coRecipientID | 1<<coStatus | 1<<coEffectiveAt

func consentWireField(key string) int {
	for i, name := range consentWireFields {
		if name == key {
			return i
		}
	}
	return -1
}

// decodeConsent decodes the members of one consent object into c.
func decodeConsent(d *recordDecoder, c *Consent) {
	var expires time.Time
	set, nulls, empty := d.members(consentWireField, consentWireFields[:], func(f int) bool {
		return d.consentValue(c, f, &expires)
	})
	if d.sc.err != "" {
		return
	}
	d.required(consentWireFields[:], consentRequired, set, nulls)
	if c.Status == "granted" {
		for _, f := range [...]int{coPurposes, coDataCategories} {
			switch {
			case set&(1<<f) == 0:
				d.problem(consentWireFields[f], "required when status is granted")
			case empty&(1<<f) != 0:
				d.problem(consentWireFields[f], "must have at least one element when status is granted")
			}
		}
	}
	if !expires.IsZero() {
		if !c.EffectiveAt.IsZero() && !expires.After(c.EffectiveAt) {
			d.problem("expires_at", "must be after effective_at")
		}
		at := expires // on the heap only for a record that has one
		c.ExpiresAt = &at
	}
}

// consentValue decodes the non-null value of field f into c, the
// expiry into expires. It reports whether the value was an empty array.
func (d *recordDecoder) consentValue(c *Consent, f int, expires *time.Time) (empty bool) {
	name := consentWireFields[f]
	switch f {
	case coConsentEventID:
		c.ConsentEventID = d.uuid(name)
	case coConsentID:
		c.ConsentID = d.string(name, true)
	case coSubjectID:
		c.SubjectID = d.string(name, true)
	case coRecipientID:
		c.RecipientID = d.string(name, true)
	case coStatus:
		c.Status = d.enum(name, ConsentStatus)
	case coPurposes:
		c.Purposes, empty = d.strings(name)
	case coDataCategories:
		c.DataCategories, empty = d.strings(name)
	case coEffectiveAt:
		c.EffectiveAt, _ = d.timestamp(name, false)
	case coExpiresAt:
		*expires, _ = d.timestamp(name, false)
	case coMethod:
		c.Method = d.string(name, false)
	case coNoticeVersion:
		c.NoticeVersion = d.string(name, false)
	case coJurisdiction:
		c.Jurisdiction = d.string(name, false)
	case coProofSHA256:
		c.ProofSHA256 = d.sha256(name)
	case coAttributes:
		c.AttrKeys, c.AttrValues = d.attributes(name)
	}
	return empty
}

// sha256 reads a SHA-256 digest as 64 hex digits, lower-casing it.
func (d *recordDecoder) sha256(field string) string {
	v, ok := d.stringValue(field)
	if !ok {
		return ""
	}
	class := hexClass(v)
	if len(v) != 64 || class&hexOther != 0 {
		d.problem(field, "not a SHA-256 digest (want 64 hex digits): "+quoteValue(v))
		return ""
	}
	if class&hexUpper != 0 {
		return strings.ToLower(v)
	}
	return v
}
