-- What /healthz needs from the database in one round trip.
SELECT postgis_lib_version() AS postgis,
       current_setting('server_version') AS postgres,
       (SELECT count(*) FROM admin_unit WHERE level = 'village') AS villages;
