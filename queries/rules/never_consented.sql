{{- /*
"Never consented", a predicate over a column named verdict: the access was
made when no consent stood behind it at all: no_consent (no consent of the
customer to that recipient had taken effect by then) or consent_unknown (the
consent the event names had no record in effect by then). The saved queries
that answer "did anything reach X without consent" write it as
{{never_consented}}, so a recipient nobody consented to shows as such, never
as an empty answer.
*/ -}}
(verdict IN ('no_consent', 'consent_unknown'))
