-- The current holder of a lease (argument: lease name), whether it is
-- still live by the server's clock, and whether its holder released it (a
-- release writes the lease with no time to live: expires_at = taken_at).
SELECT holder, host, pid, expires_at, expires_at > now() AS live, expires_at <= taken_at AS released
FROM {{.MetaDB}}.instance_lease FINAL
WHERE name = ?
ORDER BY version DESC
LIMIT 1
