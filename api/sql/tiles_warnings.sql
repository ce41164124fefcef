-- Vector tile layer "warnings": issued (active) warnings with hazard, colour, level (四级 … 一级),
-- action and CAP status; areas simplified to half a tile unit of the requested zoom.
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
        SELECT w.id, w.hazard, w.colour, w.level, w.action, w.cap_status,
               to_char(w.expires_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS expires,
               ST_AsMVTGeom(
                   ST_SimplifyPreserveTopology(ST_Transform(w.geom, 3857),
                                               20037508.343 / (2 ^ q.z) / %(extent)s),
                   env.box, %(extent)s, %(buffer)s, true) AS geom
        FROM env JOIN warning w ON w.geom && env.wide
        WHERE w.status = 'issued' AND w.expires_at > now()  -- in force: ends by the clock too
    )
    SELECT ST_AsMVT(f, 'warnings', %(extent)s, 'geom' ORDER BY f.id) AS tile
    FROM features f WHERE f.geom IS NOT NULL  -- ORDER BY: stable bytes, stable ETag
) t
ORDER BY q.i;
