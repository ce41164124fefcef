-- Extent (EPSG:4326) of each tile layer's data, for TileJSON bounds and center.
WITH e AS (
    SELECT 'villages' AS layer, ST_Extent(geom) AS box FROM admin_unit WHERE level = 'village'
    UNION ALL
    SELECT 'townships', ST_Extent(geom) FROM admin_unit WHERE level = 'township'
    UNION ALL
    SELECT 'admin-labels', ST_Extent(label_point) FROM admin_unit
    WHERE level IN ('township', 'village')
    UNION ALL
    SELECT 'hazard-points', ST_Extent(geom) FROM hazard_point
    UNION ALL
    SELECT 'shelters', ST_Extent(geom) FROM shelter
    UNION ALL
    SELECT 'stations', ST_Extent(geom) FROM station
    UNION ALL
    SELECT 'warnings', ST_Extent(geom) FROM warning WHERE status = 'issued'
    UNION ALL
    SELECT 'rivers', ST_Extent(geom) FROM river
    UNION ALL
    SELECT 'counties', ST_Extent(geom) FROM admin_unit WHERE level IN ('county', 'city')
)
SELECT layer, ST_XMin(box) AS west, ST_YMin(box) AS south, ST_XMax(box) AS east,
       ST_YMax(box) AS north
FROM e WHERE box IS NOT NULL;
