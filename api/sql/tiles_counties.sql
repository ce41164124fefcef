-- Vector tile layer "counties": county-level (区县) and city (地级市) outlines with code, name and
-- level, for the public basemap, and in the same tile a second layer "county-labels": one label
-- point per unit (names on outlines were drawn once per tile piece: a county named twice). No pre-simplified or pre-cut copy holds these levels
-- (tile_admin_unit and tile_cut are townships and villages only), so each outline is cut to the
-- buffered tile in degrees first (a city outline has ~10,000 points; transforming and
-- simplifying it whole cost 50–170 ms a tile, cut first 1–11 ms), then transformed and
-- simplified to half a tile unit (as the warning areas); ST_AsMVTGeom clips and makes it valid.
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
        SELECT a.code, a.name, a.level,
               ST_AsMVTGeom(
                   ST_Simplify(ST_Transform(ST_ClipByBox2D(a.geom, env.wide), 3857),
                               20037508.343 / (2 ^ q.z) / %(extent)s, true),
                   env.box, %(extent)s, %(buffer)s, true) AS geom
        FROM env JOIN admin_unit a ON a.geom && env.wide
        WHERE a.level IN ('county', 'city')
    ), labels AS MATERIALIZED (
        SELECT a.code, a.name, a.level,
               ST_AsMVTGeom(ST_Transform(a.label_point, 3857), env.box, %(extent)s, %(buffer)s,
                            true) AS geom
        FROM env JOIN admin_unit a ON a.label_point && env.wide
        WHERE a.level IN ('county', 'city')
    )
    -- ORDER BY: stable bytes, stable ETag
    SELECT coalesce((SELECT ST_AsMVT(f, 'counties', %(extent)s, 'geom' ORDER BY f.code)
                     FROM features f WHERE f.geom IS NOT NULL), ''::bytea)
           || coalesce((SELECT ST_AsMVT(l, 'county-labels', %(extent)s, 'geom' ORDER BY l.code)
                        FROM labels l WHERE l.geom IS NOT NULL), ''::bytea) AS tile
) t
ORDER BY q.i;
