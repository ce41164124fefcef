-- Vector tile layer "hazard-points": geohazard points (隐患点) with kind, scale and the people
-- they threaten. Searched in EPSG:4326 through the geometry index (the envelope's box in degrees
-- covers the Mercator envelope exactly).
-- area: the caller's area prefix (api/areas.py; NULL = all): its features only.
-- Batched (api/tiles/batch.py): one statement renders every tile of the parameter arrays zs, xs,
-- ys (cuts: pre-cut outlines wanted), one row (i, tile) per tile in their order, so tiles that
-- wait together cost one round trip.
SELECT q.i, t.tile
FROM unnest(%(zs)s::integer[], %(xs)s::integer[], %(ys)s::integer[], %(cuts)s::boolean[])
     WITH ORDINALITY AS q (z, x, y, cut, i)
CROSS JOIN LATERAL (
    WITH env AS (
        SELECT ST_TileEnvelope(q.z, q.x, q.y) AS box,
               ST_Transform(ST_TileEnvelope(q.z, q.x, q.y, margin => %(margin)s), 4326)
                   AS wide
    ), features AS MATERIALIZED (
        SELECT h.id, h.name, h.kind, h.scale, h.threatened_people, h.village_code,
               ST_AsMVTGeom(ST_Transform(h.geom, 3857), env.box, %(extent)s, %(buffer)s,
                            true) AS geom
        FROM env JOIN hazard_point h ON h.geom && env.wide
    )
    SELECT ST_AsMVT(f, 'hazard-points', %(extent)s, 'geom' ORDER BY f.id) AS tile
    FROM features f WHERE f.geom IS NOT NULL  -- ORDER BY: stable bytes, stable ETag
      AND (%(area)s::text IS NULL OR f.village_code LIKE %(area)s || '%%')
) t
ORDER BY q.i;
