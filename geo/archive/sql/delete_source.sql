-- A run replaces every row of its source label (in the caller's transaction, with the COPY).
DELETE FROM village_rain_annual_max WHERE source = %(source)s;
