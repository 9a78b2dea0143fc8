SELECT name, storage
FROM system.roles
ORDER BY name
