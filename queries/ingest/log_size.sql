-- The proof log's size: leaf indexes are contiguous from 0, so the size is
-- the highest index plus one; count() lets the caller check contiguity.
SELECT count(), max(leaf_index) FROM {{.MetaDB}}.log_leaves
