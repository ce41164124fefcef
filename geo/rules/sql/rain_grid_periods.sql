-- The observed-rain grid rows (village_rain_grid, migration 0022) lying wholly inside
-- [first, at], and whether any village row of analyses lies there too (then the SQL functions,
-- not the arrays, give the windows). Each row's version keys the arrays cached in memory: the
-- database and server start (ids and xids are only unique within one), xmin and ctid (an update
-- makes a new row version).
SELECT EXISTS (SELECT 1 FROM village_rain_row r
               WHERE r.product = 'qpe' AND r.valid_end <= %(at)s AND r.valid_end > %(first)s
                 AND r.valid_start >= %(first)s) AS has_rows,
       coalesce(array_agg(g.id ORDER BY g.valid_end), '{}') AS ids,
       coalesce(array_agg(g.valid_start ORDER BY g.valid_end), '{}') AS starts,
       coalesce(array_agg(g.valid_end ORDER BY g.valid_end), '{}') AS ends,
       coalesce(array_agg(g.issued_at ORDER BY g.valid_end), '{}') AS issues,
       coalesce(array_agg(g.village_set ORDER BY g.valid_end), '{}') AS sets,
       coalesce(array_agg(concat_ws('/', current_database(), pg_postmaster_start_time(), g.xmin,
                                    g.ctid) ORDER BY g.valid_end), '{}') AS versions
FROM village_rain_grid g
WHERE g.product = 'qpe' AND g.valid_end <= %(at)s AND g.valid_end > %(first)s
  AND g.valid_start >= %(first)s;
