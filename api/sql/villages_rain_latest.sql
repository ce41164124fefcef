-- End of the village's latest observed rain period up to now (the default end of its series).
SELECT max(valid_end) AS latest FROM village_rain
WHERE village_code = %(code)s AND product IN ('qpe', 'gauge') AND valid_end <= now();
