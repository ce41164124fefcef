-- For each county with villages (all, or those of %(counties)s): the catalogued DEM its risk maps
-- are built from (geo/risk/counties.py). The county's own DEM first (the demo catalogues
-- 'dem-<county code>'), else one whose footprint covers the county's villages, else the one
-- covering most of them, newest dataset first. No DEM meets the county: dem_id and path are NULL.
WITH county AS (
    SELECT county_code AS code, count(*) AS villages, ST_SetSRID(ST_Extent(geom)::geometry, 4326) AS box
    FROM village
    WHERE %(counties)s::text[] IS NULL OR county_code = ANY (%(counties)s::text[])
    GROUP BY county_code
)
SELECT c.code, c.villages, d.id AS dem_id, d.path
FROM county c
LEFT JOIN LATERAL (
    SELECT r.id, r.path
    FROM raster_layer r
    JOIN dataset ds ON ds.id = r.dataset_id
    WHERE r.kind = 'dem' AND (r.id = 'dem-' || c.code OR ST_Intersects(r.footprint, c.box))
    ORDER BY (r.id = 'dem-' || c.code) DESC,
             ST_Covers(r.footprint, c.box) DESC,
             ST_Area(ST_Intersection(r.footprint, c.box)) DESC,
             ds.loaded_at DESC, r.id
    LIMIT 1
) d ON true
ORDER BY c.code;
