-- The writer lease: which privaudit instance writes this database. A
-- `serve` takes it at start and renews it while running; another `serve`
-- finding a live lease held by someone else refuses to start, so ingest
-- (whose stored-key filter lives in one process) and the scheduler run once.
-- A lease not renewed by expires_at is stale and may be taken over.
-- Each take or renewal is a new row; the highest version is the holder.
CREATE TABLE IF NOT EXISTS {{.MetaDB}}.instance_lease {{.OnCluster}} (
    name       String,
    holder     String,
    host       String,
    pid        UInt32,
    taken_at   DateTime,
    expires_at DateTime,
    version    UInt64
) ENGINE = {{.Engine "instance_lease" "version"}}
ORDER BY name;
