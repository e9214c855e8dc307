-- Takes, renews (expires_at in the future) or releases (expires_at now) a
-- lease. Arguments: name, holder, host, pid, seconds to live, version.
INSERT INTO {{.MetaDB}}.instance_lease (name, holder, host, pid, taken_at, expires_at, version)
SELECT ?, ?, ?, ?, now(), now() + ?, ?
