package synth

// appendEvent appends e as one NDJSON line in the wire format (SPEC §2.1).
func (g *gen) appendEvent(b []byte, e *event) []byte {
	b = append(b, `{"event_id":"`...)
	b = appendUUID(b, g.r)
	b = append(b, `","occurred_at":"`...)
	b = g.ts.appendTimestamp(b, e.at)
	b = append(b, `","actor_id":`...)
	if e.actorID == "" { // the subject acting on its own data
		b = append(appendCustomerID(append(b, '"'), e.subject), '"')
	} else {
		b = appendJSONString(b, e.actorID)
	}
	b = appendField(b, "actor_type", e.actorType)
	b = appendCustomerID(append(b, `,"subject_id":"`...), e.subject)
	b = append(b, '"')
	b = appendField(b, "action", e.action)
	b = appendMaskArray(appendKey(b, "data_categories"), e.cats, categoryNames[:])
	if e.channel != "batch_file" {
		b = appendFields(appendKey(b, "fields"), e.cats)
	}
	b = appendField(b, "recipient_id", e.rcpt.id)
	b = appendField(b, "recipient_type", e.rcpt.typ)
	b = appendField(b, "purpose", e.purpose)
	b = appendField(b, "legal_basis", e.basis)
	if e.ckind != kindNone {
		b = append(b, `,"consent_id":"`...)
		b = appendConsentID(b, e.ckind, e.ccust)
		b = append(b, '"')
	}
	switch {
	case e.denied:
		b = appendField(b, "outcome", "denied")
	case e.rcpt.typ != "internal":
		b = appendField(b, "outcome", "allowed")
	}
	if e.records != 1 || e.rcpt.typ != "internal" {
		b = appendInt(appendKey(b, "record_count"), e.records)
	}
	b = appendField(b, "channel", e.channel)
	b = appendField(b, "jurisdiction", jurisdictions[g.w.customers[e.subject].jur])
	if e.channel != "batch_file" {
		b = append(b, `,"request_id":"req-`...)
		b = append(appendHex(b, g.r, 16), '"')
	}
	b = append(b, `,"attributes":{"synth_expect":`...)
	b = appendJSONString(b, string(e.expect))
	b = appendField(b, "synth_scenario", e.scenario)
	if e.team != "" {
		b = appendField(b, "team", e.team)
	}
	return append(b, '}', '}', '\n')
}

// appendFields appends the fields of the categories in mask as a JSON array.
func appendFields(b []byte, mask uint8) []byte {
	b = append(b, '[')
	first := true
	for i, fields := range categoryFields {
		if mask&(1<<i) == 0 {
			continue
		}
		for _, f := range fields {
			if !first {
				b = append(b, ',')
			}
			first = false
			b = appendJSONString(b, f)
		}
	}
	return append(b, ']')
}
