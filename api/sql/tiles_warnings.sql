-- Vector tile layer "warnings": issued (active) warnings as published — hazard, colour, level
-- (四级 … 一级), action, CAP status, expiry; areas simplified to half a tile unit of the zoom.
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
    ), published AS (  -- as the public received them: the published version's colour and
        -- villages; the area rebuilt from those villages while an unpublished draft changed it
        SELECT w.id, w.hazard, v.colour, v.action, w.cap_status, v.expires,
               CASE WHEN w.current_version = w.published_version THEN w.geom
               ELSE (SELECT ST_Multi(ST_Union(a.geom)) FROM admin_unit a
                     WHERE a.level = 'village' AND a.code = ANY(v.village_codes)) END AS geom
        FROM warning w
        JOIN warning_version v ON v.warning_id = w.id AND v.version = w.published_version
        WHERE w.status = 'issued' AND w.expires_at > now()  -- in force: ends by the clock too
    ), features AS MATERIALIZED (
        SELECT p.id, p.hazard, p.colour,
               CASE p.colour WHEN 'blue' THEN '四级' WHEN 'yellow' THEN '三级'
                             WHEN 'orange' THEN '二级' WHEN 'red' THEN '一级' END AS level,
               p.action, p.cap_status,
               to_char(p.expires AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS expires,
               ST_AsMVTGeom(
                   ST_SimplifyPreserveTopology(ST_Transform(p.geom, 3857),
                                               20037508.343 / (2 ^ q.z) / %(extent)s),
                   env.box, %(extent)s, %(buffer)s, true) AS geom
        FROM env JOIN published p ON p.geom && env.wide
    )
    SELECT ST_AsMVT(f, 'warnings', %(extent)s, 'geom' ORDER BY f.id) AS tile
    FROM features f WHERE f.geom IS NOT NULL  -- ORDER BY: stable bytes, stable ETag
) t
ORDER BY q.i;
