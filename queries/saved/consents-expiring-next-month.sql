-- title: Consents expiring next month
-- description: Consents whose current state is granted with an expiry in the
--   next calendar month (UTC), so they can be renewed before disclosures
--   under them stop being covered.
-- param: recipient String = ''   only consents to this recipient_id (empty: all)
SELECT
    consent_id,
    cur_subject AS subject_id,
    cur_recipient AS recipient_id,
    cur_purposes AS purposes,
    cur_categories AS data_categories,
    granted_at,
    cur_expires_at AS expires_at
FROM
(
    SELECT
        consent_id,
        argMax(subject_id, (effective_ns, ingest_seq)) AS cur_subject,
        argMax(recipient_id, (effective_ns, ingest_seq)) AS cur_recipient,
        argMax(status, (effective_ns, ingest_seq)) AS cur_status,
        argMax(purposes, (effective_ns, ingest_seq)) AS cur_purposes,
        argMax(data_categories, (effective_ns, ingest_seq)) AS cur_categories,
        argMax(has_expiry, (effective_ns, ingest_seq)) AS cur_has_expiry,
        argMax(expires_at, (effective_ns, ingest_seq)) AS cur_expires_at,
        max(effective_at) AS granted_at
    FROM {{.DB}}.consent_events FINAL
    WHERE effective_at <= now()
      AND (@recipient = '' OR recipient_id = @recipient)
    GROUP BY consent_id
)
WHERE cur_status = 'granted' AND cur_has_expiry = 1
  AND cur_expires_at >= toDateTime(toStartOfMonth(addMonths(today(), 1)))
  AND cur_expires_at < toDateTime(toStartOfMonth(addMonths(today(), 2)))
ORDER BY expires_at, consent_id
