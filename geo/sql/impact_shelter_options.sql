-- Where each affected village's people could go: every (village, shelter) pair with free places
-- (capacity − occupancy > 0) within %(reach_m)s m, measured on the WGS 84 spheroid from the
-- village's representative point (label_point, inside the village, where its people are taken
-- to be) to the shelter: a real travel-scale distance, never the 0 of "inside the warned area".
-- The box test (&&, %(reach_deg)s ≥ the longitude span of the reach) lets the index find them.
WITH v AS (SELECT code, label_point FROM village WHERE code = ANY(%(codes)s))
SELECT v.code AS village_code, s.id AS shelter_id,
       ST_Distance(v.label_point::geography, s.geom::geography) AS distance_m
FROM v
JOIN shelter s
  ON s.geom && ST_Expand(v.label_point, %(reach_deg)s)
 AND ST_DWithin(v.label_point::geography, s.geom::geography, %(reach_m)s)
WHERE s.capacity > s.occupancy
ORDER BY distance_m, v.code, s.id;
