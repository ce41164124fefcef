-- Archive sources holding annual maxima of one village (frequencies may not be computed yet).
SELECT DISTINCT source FROM village_rain_annual_max WHERE village_code = %(code)s ORDER BY source;
