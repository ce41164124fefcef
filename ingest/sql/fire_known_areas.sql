-- Which of the given admin codes exist (fire danger ratings are given per area code).
SELECT code FROM admin_unit WHERE code = ANY(%(codes)s::text[]);
