-- Stored record counts, each record once (FINAL collapses replays not yet merged).
SELECT
    (SELECT count() FROM {{.DB}}.access_events FINAL) AS events,
    (SELECT count() FROM {{.DB}}.consent_events FINAL) AS consents
