-- SQL user-defined functions (CREATE FUNCTION): their names and CREATE text.
SELECT name, create_query
FROM system.functions
WHERE origin = 'SQLUserDefined'
ORDER BY name
