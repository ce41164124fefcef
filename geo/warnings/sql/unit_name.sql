-- The name of an administrative unit (the issuing bureau's city or county).
SELECT name, name_en FROM admin_unit WHERE code = %(code)s;
