-- Vector tile layer "rivers": the drainage network (river) with id, name, Strahler order and
-- upstream area, for the public basemap. Lines are simplified to half a tile unit of the
-- requested zoom (as the warning areas are) and transformed per request: a county has a few
-- hundred short lines, no pre-simplified copy needed. Searched in EPSG:4326 through the geometry
-- index (the envelope's box in degrees covers the Mercator envelope exactly).
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
        SELECT r.id, r.name, r.strahler,
               round(r.upstream_area_km2::numeric, 1)::double precision AS upstream_area_km2,
               ST_AsMVTGeom(
                   ST_Simplify(ST_Transform(r.geom, 3857), 20037508.343 / (2 ^ q.z) / %(extent)s),
                   env.box, %(extent)s, %(buffer)s, true) AS geom
        FROM env JOIN river r ON r.geom && env.wide
    )
    SELECT ST_AsMVT(f, 'rivers', %(extent)s, 'geom' ORDER BY f.id) AS tile
    FROM features f WHERE f.geom IS NOT NULL  -- ORDER BY: stable bytes, stable ETag
) t
ORDER BY q.i;
