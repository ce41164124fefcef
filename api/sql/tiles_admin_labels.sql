-- Vector tile layer "admin-labels": one point per township and village (admin_unit.label_point,
-- ST_PointOnSurface of the outline) with code, name and level. Maps label these points, not the
-- outlines: an outline cut into several tiles was labelled once per piece (a township's name
-- repeated three or four times on screen).
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
        SELECT a.code, a.name, a.level,
               ST_AsMVTGeom(ST_Transform(a.label_point, 3857), env.box, %(extent)s, %(buffer)s,
                            true) AS geom
        FROM env JOIN admin_unit a ON a.label_point && env.wide
        WHERE a.level IN ('township', 'village')
    )
    SELECT ST_AsMVT(f, 'admin-labels', %(extent)s, 'geom' ORDER BY f.code) AS tile
    FROM features f WHERE f.geom IS NOT NULL  -- ORDER BY: stable bytes, stable ETag
      AND (%(area)s::text IS NULL OR f.code LIKE %(area)s || '%%')
) t
ORDER BY q.i;
