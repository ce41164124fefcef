SELECT name FROM admin_unit WHERE code = %(code)s;
