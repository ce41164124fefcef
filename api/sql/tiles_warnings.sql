-- Vector tile layer "warnings": issued (active) warnings with hazard, colour, level (四级 … 一级),
-- action and CAP status; areas simplified to half a tile unit of the requested zoom.
WITH env AS (
    SELECT ST_TileEnvelope(%(z)s, %(x)s, %(y)s) AS box,
           ST_Transform(ST_TileEnvelope(%(z)s, %(x)s, %(y)s, margin => %(margin)s), 4326) AS wide
), features AS MATERIALIZED (
    SELECT w.id, w.hazard, w.colour, w.level, w.action, w.cap_status,
           to_char(w.expires_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS expires,
           ST_AsMVTGeom(
               ST_SimplifyPreserveTopology(ST_Transform(w.geom, 3857),
                                           20037508.343 / (2 ^ %(z)s) / %(extent)s),
               env.box, %(extent)s, %(buffer)s, true) AS geom
    FROM env JOIN warning w ON w.geom && env.wide
    WHERE w.status = 'issued'
)
SELECT ST_AsMVT(f, 'warnings', %(extent)s, 'geom' ORDER BY f.id) AS tile  -- stable bytes, stable ETag
FROM features f WHERE f.geom IS NOT NULL;
