-- Critical rainfall (山洪临界雨量) of the villages a source covers, one row per village and
-- duration: soil state 'any' where the village has it, else 'normal' (dry/wet are conditional).
SELECT DISTINCT ON (t.village_code, t.duration_h)
       t.village_code, t.duration_h, t.soil_state, t.prepare_mm, t.immediate_mm
FROM flash_flood_threshold t
WHERE t.soil_state IN ('any', 'normal')
  AND EXISTS (SELECT 1 FROM village_rain_annual_max m
              WHERE m.source = %(source)s AND m.village_code = t.village_code
                AND m.duration_h = t.duration_h)
ORDER BY t.village_code, t.duration_h, t.soil_state = 'any' DESC;
