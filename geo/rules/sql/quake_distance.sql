-- Earthquakes of (at - hours, at] and the epicentral distance (km) to every village's label
-- point within 500 km (beyond it no attenuation relation gives intensity VI).
SELECT v.code, e.magnitude, ST_Distance(e.geom::geography, v.label_point::geography) / 1000.0
FROM earthquake e
JOIN admin_unit v
  ON v.level = 'village' AND v.label_point && ST_Expand(e.geom, 10.0)  -- index, then geodesic
 AND ST_DWithin(e.geom::geography, v.label_point::geography, 500000)
WHERE e.origin_time <= %(at)s AND e.origin_time > %(at)s - make_interval(secs => %(age_s)s)
  AND e.magnitude IS NOT NULL
  AND coalesce(e.event_type, 'earthquake') = 'earthquake'
  AND coalesce(e.status, '') <> 'deleted'
