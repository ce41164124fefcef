-- Each village's critical rainfall for one duration: the soil-state-independent row, else the
-- 'normal' one, else the lowest.
SELECT DISTINCT ON (village_code) village_code, prepare_mm, immediate_mm
FROM flash_flood_threshold
WHERE duration_h = %(duration_h)s
ORDER BY village_code, (soil_state = 'any') DESC, (soil_state = 'normal') DESC, immediate_mm
