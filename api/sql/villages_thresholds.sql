-- Flash-flood critical rainfall (山洪临界雨量): 准备转移 prepare and 立即转移 immediate, per duration.
SELECT duration_h, soil_state, prepare_mm, immediate_mm, method, dataset_id
FROM flash_flood_threshold WHERE village_code = %(code)s ORDER BY duration_h, soil_state;
