-- Which of a set of event_ids (external table `lookup_ids`, id String)
-- already have a stored verdict. Used only for records a batch found
-- already stored (a retried or replayed batch, or a resent event), so the
-- full read of the event_id column is rare.
SELECT DISTINCT event_id
FROM {{.DB}}.access_verdicts
WHERE event_id IN (SELECT id FROM lookup_ids)
