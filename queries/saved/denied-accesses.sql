-- title: Denied accesses by actor
-- description: Accesses that were refused (outcome denied), per actor,
--   recipient and purpose: repeated refusals point at a misconfigured
--   integration or at someone probing for data.
-- param: since Date      first day of the period (inclusive, UTC)
-- param: until Date      day after the period (exclusive, UTC)
SELECT
    actor_id,
    actor_type,
    recipient_id,
    purpose,
    count() AS denied,
    uniqExact(subject_id) AS subjects,
    min(occurred_at) AS first_denied,
    max(occurred_at) AS last_denied
FROM {{.DB}}.access_events FINAL
WHERE occurred_at >= @since AND occurred_at < @until
  AND outcome = 'denied'
GROUP BY actor_id, actor_type, recipient_id, purpose
ORDER BY denied DESC, actor_id, recipient_id, purpose
