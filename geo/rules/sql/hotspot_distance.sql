-- Satellite hotspots of (at - hours, at] within max_m of each village (one row per pair), with
-- what the texts say of them and how many earlier days saw a detection within repeat_m of the
-- same spot in the month before (a factory's or a kiln's heat repeats day after day; a wildfire
-- does not). Days are Beijing days. The bounding-box tests (max_deg, generous in longitude up to
-- 63° N) let the GIST indexes work; the geodesic distances then decide.
WITH recent AS (
    SELECT h.id, h.geom, h.satellite, h.instrument, h.acquired_at, h.confidence_pct,
           h.confidence_class, h.longitude::float8 AS lon, h.latitude::float8 AS lat
    FROM hotspot h
    WHERE h.acquired_at <= %(at)s AND h.acquired_at > %(at)s - make_interval(secs => %(age_s)s)
), weighed AS (
    SELECT r.*,
           (SELECT count(DISTINCT ((o.acquired_at AT TIME ZONE 'UTC') + interval '8 hours')::date)
            FROM hotspot o
            WHERE o.geom && ST_Expand(r.geom, %(repeat_deg)s)
              AND ST_DWithin(o.geom::geography, r.geom::geography, %(repeat_m)s)
              AND ((o.acquired_at AT TIME ZONE 'UTC') + interval '8 hours')::date
                  < ((r.acquired_at AT TIME ZONE 'UTC') + interval '8 hours')::date
              AND o.acquired_at > r.acquired_at - make_interval(days => %(repeat_window_days)s)
           ) AS earlier_days
    FROM recent r
)
SELECT v.code, w.id, ST_Distance(w.geom::geography, v.geom::geography) / 1000.0, w.satellite,
       w.instrument, w.acquired_at, w.confidence_pct, w.confidence_class, w.lon, w.lat,
       w.earlier_days
FROM weighed w
JOIN admin_unit v
  ON v.level = 'village' AND v.geom && ST_Expand(w.geom, %(max_deg)s)
 AND ST_DWithin(w.geom::geography, v.geom::geography, %(max_m)s)
ORDER BY v.code, 3, w.id
