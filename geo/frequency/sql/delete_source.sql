-- A run replaces every row of its source (in the same transaction as the inserts).
DELETE FROM village_rain_frequency WHERE source = %(source)s;
