-- End of the village's latest observed rain period up to now (the default end of its series).
-- village_rain_of reads one village by index (the village_rain view would unpack every grid).
SELECT max(valid_end) AS latest FROM village_rain_of(%(code)s, '-infinity', now())
WHERE product IN ('qpe', 'gauge');
