{{- /*
The violation rule (SPEC §3), a predicate over a column named verdict: every
verdict but covered, other_basis and denied. Every SQL file writes it as
{{violation}}. Its Go home is audit.Verdict.IsViolation; the test
TestRulesAgreeWithGo (queries/rules_test.go) checks both on every verdict in
ClickHouse.
*/ -}}
(verdict NOT IN ('covered', 'other_basis', 'denied'))
