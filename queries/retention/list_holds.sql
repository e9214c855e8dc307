-- Every legal hold, standing and lifted, oldest first.
SELECT hold_id, kind, subject_id, period_from, period_to, reason, set_by, set_at,
       lifted, lifted_by, lifted_at, lift_reason
FROM {{.MetaDB}}.legal_holds FINAL
ORDER BY set_at, hold_id
