-- Hourly rain of each village from its rain gauge ('gauge' product of village_rain), for the
-- hours touched by one ingest. A village's gauge is its nearest 'rain_area' station
-- (Thiessen area, from station_village). An SL 323 DRP at TM is the rain of the period ending at
-- TM, so the village hour [H - 1 h, H) sums the DRP of observations with H - 1 h < TM <= H.
-- Observations over periods longer than an hour (INTV > 1, e.g. daily 08:00 totals) are left out.
WITH hours AS (
    SELECT DISTINCT stcd, date_trunc('hour', tm - interval '1 microsecond') + interval '1 hour' AS h
    FROM rain_obs
    WHERE tm BETWEEN %(start)s AND %(end)s AND ingest_id = %(ingest_id)s AND drp IS NOT NULL
),
gauge AS (
    SELECT DISTINCT ON (sv.village_code) sv.village_code, sv.stcd
    FROM station_village sv
    WHERE sv.relation = 'rain_area'
    ORDER BY sv.village_code, sv.distance_km NULLS LAST, sv.stcd
),
sums AS (
    SELECT hours.stcd, hours.h, sum(o.drp) AS mm
    FROM hours
    JOIN rain_obs o
      ON o.stcd = hours.stcd AND o.tm > hours.h - interval '1 hour' AND o.tm <= hours.h
    WHERE o.drp IS NOT NULL AND (o.intv IS NULL OR o.intv <= 1)
    GROUP BY hours.stcd, hours.h
)
INSERT INTO village_rain_row (village_code, product, valid_start, valid_end, issued_at, mean_mm,
                          max_mm, coverage, source_ref, ingest_id)
SELECT gauge.village_code, 'gauge', sums.h - interval '1 hour', sums.h, sums.h, sums.mm, sums.mm,
       1.0, sums.stcd, %(ingest_id)s
FROM sums
JOIN gauge ON gauge.stcd = sums.stcd
ON CONFLICT (village_code, product, valid_start, valid_end, issued_at) DO UPDATE
SET mean_mm = EXCLUDED.mean_mm,
    max_mm = EXCLUDED.max_mm,
    coverage = EXCLUDED.coverage,
    source_ref = EXCLUDED.source_ref,
    ingest_id = EXCLUDED.ingest_id;
