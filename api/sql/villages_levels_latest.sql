-- Time of the latest observation of the stations up to now (the default end of the series).
SELECT max(tm) AS latest FROM (
    SELECT tm FROM river_obs WHERE stcd = ANY(%(stcds)s) AND tm <= now()
    UNION ALL
    SELECT tm FROM reservoir_obs WHERE stcd = ANY(%(stcds)s) AND tm <= now()
) t;
