-- Vector tile layer "stations": rain, river and reservoir stations (SL 323 ST_STBPRP_B) with
-- code, name, type and river.
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
        SELECT s.stcd, s.stnm, s.sttp, s.rvnm,
               ST_AsMVTGeom(ST_Transform(s.geom, 3857), env.box, %(extent)s, %(buffer)s,
                            true) AS geom
        FROM env JOIN station s ON s.geom && env.wide
         AND (%(area)s::text IS NULL OR s.addvcd LIKE %(area)s || '%%')
    )
    SELECT ST_AsMVT(f, 'stations', %(extent)s, 'geom' ORDER BY f.stcd) AS tile
    FROM features f WHERE f.geom IS NOT NULL  -- ORDER BY: stable bytes, stable ETag
) t
ORDER BY q.i;
