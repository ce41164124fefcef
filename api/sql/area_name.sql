-- The name of an area of responsibility (a city or county) for messages.
SELECT name FROM admin_unit WHERE code = %(code)s;
