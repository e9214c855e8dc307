-- The highest ledger position stored: a writer starting up hands out
-- positions above it, whatever its clock says.
SELECT max(ledger_position) FROM {{.DB}}.access_verdicts
