-- Vector tile layer "shelters": emergency shelters (避难场所) with kind, capacity and occupancy.
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
        SELECT s.id, s.name, s.kind, s.capacity, s.occupancy, s.admin_code,
               ST_AsMVTGeom(ST_Transform(s.geom, 3857), env.box, %(extent)s, %(buffer)s,
                            true) AS geom
        FROM env JOIN shelter s ON s.geom && env.wide
    )
    SELECT ST_AsMVT(f, 'shelters', %(extent)s, 'geom' ORDER BY f.id) AS tile
    FROM features f WHERE f.geom IS NOT NULL  -- ORDER BY: stable bytes, stable ETag
      AND (%(area)s::text IS NULL OR f.admin_code LIKE %(area)s || '%%')
) t
ORDER BY q.i;
