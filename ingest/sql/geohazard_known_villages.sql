-- Which of the given codes are villages riskmap knows.
SELECT code FROM admin_unit WHERE level = 'village' AND code = ANY(%(codes)s::text[]);
