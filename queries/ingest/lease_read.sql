-- The current holder of a lease (argument: lease name) and whether it is
-- still live by the server's clock.
SELECT holder, host, pid, expires_at, expires_at > now() AS live
FROM {{.MetaDB}}.instance_lease FINAL
WHERE name = ?
ORDER BY version DESC
LIMIT 1
