-- Tie each hotspot of one ingest to its nearest village within radius_km (distance to the village
-- polygon on the ellipsoid, 0 inside). The box prefilter uses the GIST index; the geography test
-- is exact. Hotspots with no village that near keep NULL.
UPDATE hotspot h
SET nearest_village_code = n.code, distance_km = n.km
FROM (
    SELECT hs.id, v.code, v.km
    FROM hotspot hs
    CROSS JOIN LATERAL (
        SELECT a.code, ST_Distance(a.geom::geography, hs.geom::geography) / 1000.0 AS km
        FROM admin_unit a
        WHERE a.level = 'village'
          AND a.geom && ST_Expand(
                hs.geom,
                %(radius_km)s / (111.32 * greatest(cos(radians(ST_Y(hs.geom))), 0.01)),
                %(radius_km)s / 110.57)
          AND ST_DWithin(a.geom::geography, hs.geom::geography, %(radius_km)s * 1000.0)
        ORDER BY km, a.code
        LIMIT 1
    ) v
    WHERE hs.ingest_id = %(ingest_id)s
) n
WHERE h.id = n.id;
