-- depends: 0024_tile_cut
-- The danger-zone population (危险区人口) of a village, as the national flash-flood survey
-- (山洪灾害调查评价) records it: the people living where the village stream's damaging flood reaches.
-- An evacuation order moves them, not the whole village, so impact summaries plan with it. NULL
-- where no survey figure is known (townships, villages outside the survey); the demo's figures
-- are synthetic like the rest of its dataset (dataset.synthetic).

ALTER TABLE admin_unit
    ADD COLUMN danger_zone_population integer
        CHECK (danger_zone_population >= 0 AND danger_zone_population <= population);
COMMENT ON COLUMN admin_unit.danger_zone_population IS
    '危险区人口: people in the village''s flash-flood danger zone (survey figure; NULL = unknown)';

-- A view's new columns go at the end (CREATE OR REPLACE VIEW keeps the existing ones in order).
CREATE OR REPLACE VIEW village AS
    SELECT code, parent_code AS township_code, gb2260 AS county_code, name, name_en, kind,
           stat_code, urban_rural, population, households, schools, clinics, area_km2,
           dataset_id, geom, label_point, danger_zone_population
    FROM admin_unit WHERE level = 'village';
