-- Each village's critical rainfall for one duration (the soil-state-independent row, else the
-- 'normal' one, else the lowest) as one row of arrays: codes, 准备转移 and 立即转移 (float8[],
-- read in binary into numpy: no Python object per village but its code).
SELECT coalesce(array_agg(t.village_code), '{}'), coalesce(array_agg(t.prepare_mm), '{}'),
       coalesce(array_agg(t.immediate_mm), '{}')
FROM (
    SELECT DISTINCT ON (village_code) village_code, prepare_mm, immediate_mm
    FROM flash_flood_threshold
    WHERE duration_h = %(duration_h)s
    ORDER BY village_code, (soil_state = 'any') DESC, (soil_state = 'normal') DESC, immediate_mm
) t
