-- One row per privilege granted (or partially revoked) to a user or a role.
SELECT user_name, role_name, access_type, database, table, column, is_partial_revoke, grant_option
FROM system.grants
ORDER BY user_name, role_name, access_type, database, table, column
