-- OGC items of `active-warnings` (生效中的预警): issued warnings as the public received them, i.e.
-- the published version's text, colour and villages. The geometry is the warning area; while a
-- forecaster's unpublished draft changed the area, it is rebuilt from the published villages.
-- The feature's time is the published version's effective … expires interval.
-- Parameters as in ogc_villages.sql.
WITH hit AS (
    SELECT w.id, v.version
    FROM warning w
    JOIN warning_version v ON v.warning_id = w.id AND v.version = w.published_version
    WHERE w.status = 'issued' AND w.expires_at > now()  -- in force: ends by the clock too
      AND (%(bbox)s::geometry IS NULL OR ST_Intersects(w.geom, %(bbox)s::geometry))
      AND (%(id)s::text IS NULL OR w.id::text = %(id)s::text)
      AND (%(area)s::text IS NULL  -- caller's area: a published village in it
           OR EXISTS (SELECT FROM unnest(v.village_codes) c WHERE c LIKE %(area)s || '%%'))
      AND (%(t1)s::timestamptz IS NULL OR v.effective <= %(t1)s)
      AND (%(t0)s::timestamptz IS NULL OR v.expires >= %(t0)s)
      AND (%(village_code)s::text IS NULL OR v.village_codes @> ARRAY[%(village_code)s::text])
      AND (%(township_code)s::text IS NULL OR EXISTS (
              SELECT FROM unnest(v.village_codes) c WHERE left(c, 9) = %(township_code)s::text))
),
page AS (
    SELECT * FROM hit ORDER BY id LIMIT %(limit)s OFFSET %(offset)s
)
SELECT (SELECT count(*) FROM hit) AS matched,
       coalesce(json_agg(json_build_object(
           'type', 'Feature',
           'id', w.id,
           'geometry', ST_AsGeoJSON(ST_ReducePrecision(  -- on the 6-decimal grid: valid
               CASE WHEN w.current_version = w.published_version THEN w.geom
               ELSE (SELECT ST_Multi(ST_Union(a.geom)) FROM admin_unit a
                     WHERE a.level = 'village' AND a.code = ANY(v.village_codes)) END,
               1e-6), 6)::json,
           'properties', json_build_object(
               'warning_id', w.id,
               'version', v.version,
               'cap_identifier', v.cap_identifier,
               'cap_sender', v.cap_sender,
               'cap_sent', v.cap_sent,
               'cap_status', w.cap_status,
               'msg_type', v.msg_type,
               'hazard', w.hazard,
               'colour', v.colour,
               'level', CASE v.colour WHEN 'blue' THEN '四级' WHEN 'yellow' THEN '三级'
                                      WHEN 'orange' THEN '二级' WHEN 'red' THEN '一级' END,
               'action', v.action,
               'event_zh', v.event_zh,
               'event_en', v.event_en,
               'headline_zh', v.headline_zh,
               'headline_en', v.headline_en,
               'description_zh', v.description_zh,
               'description_en', v.description_en,
               'instruction_zh', v.instruction_zh,
               'instruction_en', v.instruction_en,
               'category', v.category,
               'urgency', v.urgency,
               'severity', v.severity,
               'certainty', v.certainty,
               'response_type', v.response_type,
               'effective', v.effective,
               'expires', v.expires,
               'village_codes', v.village_codes,
               'villages', cardinality(v.village_codes),
               'rule_id', w.rule_id
           )
       ) ORDER BY w.id), '[]'::json)::text AS features
FROM page p
JOIN warning w ON w.id = p.id
JOIN warning_version v ON v.warning_id = p.id AND v.version = p.version;
