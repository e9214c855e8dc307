package audit

import (
	"math/bits"
	"strconv"
	"strings"
	"time"
)

// Limits of the wire contract (SPEC §2).
const (
	MaxStringLen    = 1024 // bytes of a string field, array element or attribute key
	MaxAttrValueLen = 4096 // bytes of an attribute value
	MaxAttributes   = 32   // keys of an attributes object
)

const maxFuture = 5 * time.Minute // occurred_at may be this far ahead of now

var (
	// minTimestamp is the earliest accepted timestamp (SPEC §2.1).
	minTimestamp = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	// maxTimestamp bounds timestamps to what int64 Unix nanoseconds, the
	// binary codec's representation, can hold.
	maxTimestamp = time.Date(2262, 1, 1, 0, 0, 0, 0, time.UTC)
)

// Field numbers of an event; bit i of a mask stands for eventWireFields[i].
const (
	evEventID = iota
	evOccurredAt
	evActorID
	evActorType
	evSubjectID
	evAction
	evDataCategories
	evFields
	evRecipientID
	evRecipientType
	evPurpose
	evLegalBasis
	evConsentID
	evOutcome
	evRecordCount
	evChannel
	evJurisdiction
	evRequestID
	evAttributes
)

var eventWireFields = [...]string{
	"event_id", "occurred_at", "actor_id", "actor_type", "subject_id", "action",
	"data_categories", "fields", "recipient_id", "recipient_type", "purpose",
	"legal_basis", "consent_id", "outcome", "record_count", "channel",
	"jurisdiction", "request_id", "attributes",
}

const eventRequired = 1<<evEventID | 1<<evOccurredAt | 1<<evActorID | 1<<evActorType |
	1<<evSubjectID | 1<<evAction | 1<<evDataCategories | 1<<evRecipientID |
	1<<evRecipientType | 1<<evPurpose | 1<<evLegalBasis

// eventWireField returns the field number of key, or -1 for an unknown key.
func eventWireField(key string) int {
	switch key {
	case "event_id":
		return evEventID
	case "occurred_at":
		return evOccurredAt
	case "actor_id":
		return evActorID
	case "actor_type":
		return evActorType
	case "subject_id":
		return evSubjectID
	case "action":
		return evAction
	case "data_categories":
		return evDataCategories
	case "recipient_id":
		return evRecipientID
	case "recipient_type":
		return evRecipientType
	case "purpose":
		return evPurpose
	case "legal_basis":
		return evLegalBasis
	}
	for i := evFields; i < len(eventWireFields); i++ { // the optional rest
		if eventWireFields[i] == key {
			return i
		}
	}
	return -1
}

// decodeEvent decodes the members of one event object into e.
func decodeEvent(d *recordDecoder, e *Event) {
	set, nulls, empty := d.members(eventWireField, eventWireFields[:], func(f int) bool {
		return d.eventValue(e, f)
	})
	if d.sc.err != "" {
		return
	}
	d.required(eventWireFields[:], eventRequired, set, nulls)
	if empty&(1<<evDataCategories) != 0 {
		d.problem("data_categories", "must have at least one element")
	}
	if set&(1<<evOutcome) == 0 {
		e.Outcome = "allowed"
	}
	if set&(1<<evRecordCount) == 0 {
		e.RecordCount = 1
	}
}

// eventValue decodes the non-null value of field f into e. It reports
// whether the value was an empty array.
func (d *recordDecoder) eventValue(e *Event, f int) (empty bool) {
	name := eventWireFields[f]
	switch f {
	case evEventID:
		e.EventID = d.uuid(name)
	case evOccurredAt:
		e.OccurredAt, _ = d.timestamp(name, true)
	case evActorType:
		e.ActorType = d.enum(name, ActorTypes)
	case evAction:
		e.Action = d.enum(name, Actions)
	case evRecipientType:
		e.RecipientType = d.enum(name, RecipientTypes)
	case evLegalBasis:
		e.LegalBasis = d.enum(name, LegalBases)
	case evOutcome:
		e.Outcome = d.enum(name, Outcomes)
	case evDataCategories:
		e.DataCategories, empty = d.strings(name)
	case evFields:
		e.Fields, _ = d.strings(name)
	case evRecordCount:
		e.RecordCount = d.count(name)
	case evAttributes:
		e.AttrKeys, e.AttrValues = d.attributes(name)
	default:
		*eventStringField(e, f) = d.string(name, eventRequired&(1<<f) != 0)
	}
	return empty
}

// eventStringField returns the plain string field f of e.
func eventStringField(e *Event, f int) *string {
	switch f {
	case evActorID:
		return &e.ActorID
	case evSubjectID:
		return &e.SubjectID
	case evRecipientID:
		return &e.RecipientID
	case evPurpose:
		return &e.Purpose
	case evConsentID:
		return &e.ConsentID
	case evChannel:
		return &e.Channel
	case evJurisdiction:
		return &e.Jurisdiction
	}
	return &e.RequestID
}

// members decodes the members of an object whose '{' is consumed: field
// numbers come from lookup, names from names, and value decodes the
// non-null value of a field, reporting whether it was an empty array.
// It returns bit masks of the fields set (non-null), null and empty.
func (d *recordDecoder) members(lookup func(string) int, names []string, value func(int) bool) (set, nulls, empty uint32) {
	sc := &d.sc
	var seen uint32
	after := 0 // slot of d.nextKey: 0 at the start, f+1 after field f
	for first := true; sc.more(first); first = false {
		// Records of one producer list their keys in one order: try the
		// key that followed the previous one last time before scanning.
		var key string
		f := int(d.nextKey[after]) - 1
		if f < 0 || f >= len(names) || !sc.literalKey(names[f]) {
			key = sc.key()
			if f = lookup(key); f >= 0 {
				d.nextKey[after] = int8(f + 1)
			}
		}
		if sc.err != "" {
			break
		}
		after = f + 1
		switch {
		case f < 0:
			d.problem(problemField(key), "unknown field")
		case seen&(1<<f) != 0:
			d.problem(names[f], "duplicate key")
		default:
			seen |= 1 << f
			if sc.null() {
				nulls |= 1 << f
				continue
			}
			set |= 1 << f
			if value(f) {
				empty |= 1 << f
			}
			continue
		}
		sc.skip(0)
	}
	return set, nulls, empty
}

// required reports the required fields missing from set.
func (d *recordDecoder) required(names []string, required, set, nulls uint32) {
	for m := required &^ set; m != 0; m &= m - 1 {
		f := bits.TrailingZeros32(m)
		if nulls&(1<<f) != 0 {
			d.problem(names[f], "required, got null")
		} else {
			d.problem(names[f], "required field missing")
		}
	}
}

// typeProblem reports a value of the wrong JSON type starting with c and
// skips it. Invalid JSON is left to the skipping to report.
func (d *recordDecoder) typeProblem(field, want string, c byte) {
	if k := jsonKindName(c); k != "" {
		d.problem(field, "must be "+want+", got "+k)
	}
	d.sc.skip(1)
}

// stringValue reads a string value, valid UTF-8; ok is false after a
// problem.
func (d *recordDecoder) stringValue(field string) (v string, ok bool) {
	sc := &d.sc
	if c := sc.peek(); c != '"' {
		d.typeProblem(field, "a string", c)
		return "", false
	}
	v = sc.str()
	if sc.err != "" {
		return "", false
	}
	if why := d.checkText(v); why != "" {
		d.problem(field, why)
		return "", false
	}
	return v, true
}

// string reads a string of at most MaxStringLen bytes, non-empty if
// nonEmpty.
func (d *recordDecoder) string(field string, nonEmpty bool) string {
	v, ok := d.stringValue(field)
	if !ok {
		return ""
	}
	if why := checkStringLen(v, nonEmpty, MaxStringLen); why != "" {
		d.problem(field, why)
		return ""
	}
	return v
}

func checkStringLen(v string, nonEmpty bool, max int) string {
	if nonEmpty && v == "" {
		return "must not be empty"
	}
	if len(v) > max {
		return "longer than " + strconv.Itoa(max) + " bytes (" + strconv.Itoa(len(v)) + ")"
	}
	return ""
}

// enum reads a string that must be one of values, returning the element
// of values, so that the record does not hold on to the input.
func (d *recordDecoder) enum(field string, values []string) string {
	v, ok := d.stringValue(field)
	if !ok {
		return ""
	}
	for _, w := range values {
		if v == w {
			return w
		}
	}
	d.problem(field, "invalid value "+quoteValue(v)+"; want one of "+strings.Join(values, ", "))
	return ""
}

// uuid reads a UUID in canonical 8-4-4-4-12 hex form, lower-casing it.
// The nil UUID is refused: as an idempotency key it would merge records.
func (d *recordDecoder) uuid(field string) string {
	v, ok := d.stringValue(field)
	if !ok {
		return ""
	}
	class := byte(hexOther)
	if len(v) == 36 && v[8] == '-' && v[13] == '-' && v[18] == '-' && v[23] == '-' {
		class = hexClass(v[:8]) | hexClass(v[9:13]) | hexClass(v[14:18]) | hexClass(v[19:23]) | hexClass(v[24:])
	}
	if class&hexOther != 0 {
		d.problem(field, "not a UUID (want 8-4-4-4-12 hex digits): "+quoteValue(v))
		return ""
	}
	if v == "00000000-0000-0000-0000-000000000000" {
		d.problem(field, "the nil UUID is not allowed")
		return ""
	}
	if class&hexUpper != 0 {
		return strings.ToLower(v)
	}
	return v
}

const (
	hexUpper = 1 // some of A-F
	hexOther = 2 // some non-hex digit
)

// hexClass classifies the bytes of s as lower-case hex digits (0), A-F
// (hexUpper) and others (hexOther), or-ing the classes.
func hexClass(s string) byte {
	var c byte
	for i := 0; i < len(s); i++ {
		c |= hexClasses[s[i]]
	}
	return c
}

var hexClasses = func() (t [256]byte) {
	for i := range t {
		switch {
		case '0' <= i && i <= '9', 'a' <= i && i <= 'f':
		case 'A' <= i && i <= 'F':
			t[i] = hexUpper
		default:
			t[i] = hexOther
		}
	}
	return t
}()

// timestamp reads an RFC 3339 timestamp no earlier than minTimestamp and,
// if notFuture, no later than the decoder's future limit.
func (d *recordDecoder) timestamp(field string, notFuture bool) (time.Time, bool) {
	v, ok := d.stringValue(field)
	if !ok {
		return time.Time{}, false
	}
	t, why, ok := parseRFC3339(v)
	switch {
	case !ok:
		d.problem(field, "not RFC 3339 timestamp: "+quoteValue(v)+why)
	case t.Before(minTimestamp):
		d.problem(field, "before 2000-01-01T00:00:00Z: "+quoteValue(v))
	case notFuture && t.After(d.futureLimit):
		d.problem(field, "more than 5 minutes in the future: "+quoteValue(v))
	case !t.Before(maxTimestamp):
		d.problem(field, "after 2261-12-31T23:59:59Z: "+quoteValue(v))
	default:
		return t, true
	}
	return time.Time{}, false
}

// count reads a JSON integer in the range of uint64.
func (d *recordDecoder) count(field string) uint64 {
	sc := &d.sc
	if c := sc.peek(); c != '-' && (c < '0' || c > '9') {
		d.typeProblem(field, "an integer", c)
		return 0
	}
	text, integer := sc.number()
	switch {
	case sc.err != "":
	case !integer:
		d.problem(field, "must be an integer, got "+quoteValue(text))
	case text == "-0":
	case text[0] == '-':
		d.problem(field, "must not be negative, got "+quoteValue(text))
	default:
		n, err := strconv.ParseUint(text, 10, 64)
		if err != nil {
			d.problem(field, "out of range (at most 18446744073709551615): "+quoteValue(text))
		}
		return n
	}
	return 0
}

// strings reads an array of non-empty strings of at most MaxStringLen
// bytes. It returns nil for an empty array, reporting empty.
func (d *recordDecoder) strings(field string) (v []string, empty bool) {
	sc := &d.sc
	if c := sc.peek(); c != '[' {
		d.typeProblem(field, "an array of strings", c)
		return nil, false
	}
	sc.pos++
	tmp, n := d.tmp[:0], 0
	for first := true; sc.moreElems(first); first = false {
		i := n
		n++
		if c := sc.peek(); c != '"' {
			d.typeProblem(elemField(field, i), "a string", c)
			continue
		}
		s := sc.str()
		switch {
		case sc.err != "":
		case d.checkText(s) != "":
			d.problem(elemField(field, i), d.checkText(s))
		default:
			if why := checkStringLen(s, true, MaxStringLen); why != "" {
				d.problem(elemField(field, i), why)
			}
			tmp = append(tmp, s)
		}
	}
	d.tmp = tmp
	return d.keep(tmp), n == 0 && sc.err == ""
}

func elemField(field string, i int) string {
	return field + "[" + strconv.Itoa(i) + "]"
}

// attributes reads an object of at most MaxAttributes string values,
// returning keys and values sorted by key.
func (d *recordDecoder) attributes(field string) (keys, values []string) {
	sc := &d.sc
	if c := sc.peek(); c != '{' {
		d.typeProblem(field, "an object of strings", c)
		return nil, nil
	}
	sc.pos++
	keys, values = d.tmp[:0], d.tmpV[:0]
	n := 0
	for first := true; sc.more(first); first = false {
		k := sc.key()
		kwhy := d.checkText(k)
		if sc.err != "" {
			break
		}
		n++
		why := checkStringLen(k, true, MaxStringLen)
		if kwhy != "" {
			why = kwhy
		}
		if why != "" {
			d.problem(field, "key "+why)
			sc.skip(1)
			continue
		}
		if c := sc.peek(); c != '"' {
			d.typeProblem(field+"."+problemField(k), "a string", c)
			continue
		}
		v := sc.str()
		if why = checkStringLen(v, false, MaxAttrValueLen); d.checkText(v) != "" {
			why = d.checkText(v)
		}
		if why != "" && sc.err == "" {
			d.problem(field+"."+problemField(k), why)
		}
		keys, values = append(keys, k), append(values, v)
	}
	d.tmp, d.tmpV = keys, values
	if n > MaxAttributes {
		d.problem(field, "more than "+strconv.Itoa(MaxAttributes)+" keys ("+strconv.Itoa(n)+")")
		return nil, nil
	}
	d.sortAttributes(field, keys, values)
	return d.keep(keys), d.keep(values)
}

// sortAttributes sorts the (few) attributes by key and reports duplicates.
func (d *recordDecoder) sortAttributes(field string, keys, values []string) {
	for i := 1; i < len(keys); i++ {
		for j := i; j > 0 && keys[j] < keys[j-1]; j-- {
			keys[j], keys[j-1] = keys[j-1], keys[j]
			values[j], values[j-1] = values[j-1], values[j]
		}
	}
	for i := 1; i < len(keys); i++ {
		if keys[i] == keys[i-1] && (i == 1 || keys[i] != keys[i-2]) {
			d.problem(field+"."+problemField(keys[i]), "duplicate key")
		}
	}
}
