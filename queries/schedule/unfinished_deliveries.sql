-- A schedule's delivery targets that one instance left unfinished (no
-- 'delivered' or 'failed' row): read at that instance's start, to resume
-- them. Returns the run, the target and its last attempt. Arguments:
-- schedule, instance.
SELECT run_id, target, max(attempt)
FROM {{.MetaDB}}.report_deliveries FINAL
WHERE schedule = ? AND instance = ?
GROUP BY run_id, target
HAVING max(is_final) = 0
ORDER BY run_id, target
