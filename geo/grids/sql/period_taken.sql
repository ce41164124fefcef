-- Whether a period key already has village rain: as one grid row, or as village rows. Called
-- after taking the period's advisory lock (period_lock.sql), so two ingests of one period
-- cannot both see it free.
SELECT EXISTS (SELECT 1 FROM village_rain_grid g
               WHERE g.product = %(product)s AND g.valid_start = %(valid_start)s
                 AND g.valid_end = %(valid_end)s AND g.issued_at = %(issued_at)s),
       EXISTS (SELECT 1 FROM village_rain_row r
               WHERE r.product = %(product)s AND r.valid_start = %(valid_start)s
                 AND r.valid_end = %(valid_end)s AND r.issued_at = %(issued_at)s);
