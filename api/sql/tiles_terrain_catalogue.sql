-- Every DEM (raster_layer kind 'dem') with its footprint's extent and its dataset's credit, for
-- the terrain TileJSON (bounds, maxzoom from the finest cell, attribution).
SELECT r.id, r.path, r.sha256, r.crs, r.transform, r.width, r.height,
       ST_XMin(r.footprint) AS west, ST_YMin(r.footprint) AS south,
       ST_XMax(r.footprint) AS east, ST_YMax(r.footprint) AS north, d.attribution
FROM raster_layer r JOIN dataset d ON d.id = r.dataset_id
WHERE r.kind = 'dem'
ORDER BY d.loaded_at DESC, r.id;
