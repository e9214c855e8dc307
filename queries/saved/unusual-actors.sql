-- title: Unusual actors
-- description: Days on which an actor (service, employee, partner) touched far
--   more events than on their median active day in the period: a volume
--   anomaly worth a look (bulk export, compromised credentials, a runaway job).
-- param: since Date                   first day of the period (inclusive, UTC)
-- param: until Date                   day after the period (exclusive, UTC)
-- param: factor Float64 = 3           how many times the median a day must exceed
-- param: min_events UInt64 = 20       ignore days with fewer events than this
SELECT
    actor_id,
    actor_type,
    day,
    events,
    median_events,
    round(events / median_events, 1) AS times_median
FROM
(
    SELECT
        actor_id,
        any(a_type) AS actor_type,
        groupArray(d) AS days,
        groupArray(n) AS counts,
        quantileExact(0.5)(n) AS median_events
    FROM
    (
        SELECT actor_id, any(actor_type) AS a_type, toDate(occurred_at) AS d, count() AS n
        FROM {{.DB}}.access_events FINAL
        WHERE occurred_at >= @since AND occurred_at < @until
        GROUP BY actor_id, d
    )
    GROUP BY actor_id
)
ARRAY JOIN days AS day, counts AS events
WHERE events >= @min_events AND events > @factor * median_events
ORDER BY times_median DESC, actor_id, day
