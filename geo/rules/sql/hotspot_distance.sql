-- Per village, the nearest satellite hotspot of (at - hours, at] within max_km, and how many.
-- The bounding-box test (max_deg, generous in longitude up to 63° N) lets the GIST index of the
-- villages work; the geodesic distance then decides.
SELECT v.code, min(ST_Distance(h.geom::geography, v.geom::geography)) / 1000.0, count(*)::float8
FROM hotspot h
JOIN admin_unit v
  ON v.level = 'village' AND v.geom && ST_Expand(h.geom, %(max_deg)s)
 AND ST_DWithin(h.geom::geography, v.geom::geography, %(max_m)s)
WHERE h.acquired_at <= %(at)s AND h.acquired_at > %(at)s - make_interval(secs => %(age_s)s)
GROUP BY v.code
