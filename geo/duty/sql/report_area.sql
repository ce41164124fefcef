-- The name of the report's area (a county, or a city whose code is %(code)s).
SELECT name FROM admin_unit WHERE code = %(code)s;
