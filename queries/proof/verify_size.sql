-- The leaves privaudit verify checks: those of the runs stored when it
-- begins, and the highest index among them (0 for an empty log). Leaves
-- appended while it runs have higher indexes and are left for the next run.
SELECT sum(length(record_keys)), toUInt64(greatest(max(first_leaf + length(record_keys)), 1) - 1) FROM {{.MetaDB}}.log_runs
