{{- /*
The disclosure rule (SPEC §2.1), a predicate over the access_events columns
action, outcome and recipient_type: an allowed share, export or transfer to
a recipient other than internal or the subject. Every SQL file writes it as
{{disclosure}}. Its Go home is audit.IsDisclosure; the test
TestRulesAgreeWithGo (queries/rules_test.go) checks both on every
combination of action, outcome and recipient type in ClickHouse.
*/ -}}
(action IN ('share', 'export', 'transfer') AND outcome = 'allowed' AND recipient_type NOT IN ('internal', 'subject'))
