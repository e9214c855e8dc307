-- Every stored access event, every column in the table's order, raw
-- (never FINAL, so a copy shows): privaudit verify reads them over the
-- native protocol (audit/chwire) and recomputes each one's leaf hash from
-- the columns, as audit.StoredEvent's canonical encoding states it.
SELECT * FROM {{.DB}}.access_events
