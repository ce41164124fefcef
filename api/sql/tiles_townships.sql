-- Vector tile layer "townships": outline, code, name and kind. Outlines come pre-cut for this
-- tile (tile_cut, 0024) at zooms 4–14, clipped here from the band's pre-simplified
-- outline (0019) otherwise; both give the same bytes.
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
               ST_TileEnvelope(q.z, q.x, q.y, margin => %(margin)s) AS wide
    ), features AS MATERIALIZED (  -- each live outline clipped once, not in the filter too
        SELECT c.code, c.name, c.kind, c.geom
        FROM tile_cut c
        WHERE q.cut AND c.z = q.z AND c.x = q.x AND c.y = q.y AND c.level = 'township'
        UNION ALL
        SELECT t.code, a.name, a.kind,
               ST_AsMVTGeom(t.geom, env.box, %(extent)s, %(buffer)s, true)
        FROM env
        JOIN tile_admin_unit t ON t.band = tile_band(q.z) AND t.geom && env.wide
        JOIN admin_unit a ON a.code = t.code
        WHERE NOT q.cut AND t.level = 'township'
    )
    SELECT ST_AsMVT(f, 'townships', %(extent)s, 'geom' ORDER BY f.code) AS tile
    FROM features f WHERE f.geom IS NOT NULL  -- ORDER BY: stable bytes, stable ETag
      AND (%(area)s::text IS NULL OR f.code LIKE %(area)s || '%%')
) t
ORDER BY q.i;
