-- Users and where they are defined (users_xml = a config file, local_directory = SQL). Never a password or hash.
SELECT name, storage, auth_type, host_ip, host_names, host_names_regexp, host_names_like,
       default_roles_all, default_roles_list, default_roles_except
FROM system.users
ORDER BY name
