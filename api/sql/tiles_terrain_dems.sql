-- The DEMs (raster_layer kind 'dem') that terrain tile z/x/y is drawn from, in priority order
-- (newest dataset first): those whose footprint meets the tile; when none does, the nearest
-- one, continued flat over the tile (api/tiles/terrain.py). No row: no DEM is catalogued.
WITH env AS (
    SELECT ST_Transform(ST_TileEnvelope(%(z)s, %(x)s, %(y)s), 4326) AS box
), dem AS (
    SELECT r.id, r.path, r.sha256, r.crs, r.transform, r.width, r.height,
           ST_XMin(r.footprint) AS west, ST_YMin(r.footprint) AS south,
           ST_XMax(r.footprint) AS east, ST_YMax(r.footprint) AS north,
           d.attribution, d.loaded_at,
           ST_Intersects(r.footprint, env.box) AS meets,
           ST_Distance(r.footprint, env.box) AS distance
    FROM raster_layer r
    JOIN dataset d ON d.id = r.dataset_id
    CROSS JOIN env
    WHERE r.kind = 'dem'
)
SELECT id, path, sha256, crs, transform, width, height, west, south, east, north, attribution
FROM dem
WHERE meets
   OR (NOT EXISTS (SELECT 1 FROM dem WHERE meets)
       AND distance = (SELECT min(distance) FROM dem))
ORDER BY loaded_at DESC, id;
