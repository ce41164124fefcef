-- One SMS per mobile phone of the people responsible for what the warning covers: the village
-- cadres, disaster information officers (灾害信息员) and grid officers (网格员) of its villages;
-- the three responsible persons (三个责任人) of reservoirs whose dam lies within 1 km of the area
-- or whose downstream villages (station_village) are warned; the responsible persons of dikes
-- crossing the area; the monitors (群测群防员) and responsible persons of hazard points in its
-- villages or inside its area; and whoever was on duty (值班: 带班领导 leader, 主班 chief,
-- 值班员 officers) in the county office and the townships of the villages when the version was
-- sent (%(at)s, not now(): a replay writes the same rows). A person with several duties gets
-- one message listing them; phones that take no SMS (landlines) are left out.
INSERT INTO outbox (warning_id, version, channel, target, payload, idempotency_key)
WITH v AS (
    SELECT a.code, a.geom, a.parent_code AS township, t.parent_code AS county
    FROM admin_unit a JOIN admin_unit t ON t.code = a.parent_code
    WHERE a.level = 'village' AND a.code = ANY(%(villages)s::text[])
), responsible (person_id, phone, role, subject, village) AS (
    SELECT d.person_id, NULL::text, d.role, d.admin_code, v.code
    FROM duty d JOIN v ON v.code = d.admin_code
    WHERE d.role IN ('village_cadre', 'disaster_info_officer', 'grid_officer')
    UNION ALL
    SELECT d.person_id, NULL, d.role, d.stcd, x.village
    FROM duty d
    JOIN LATERAL (
        SELECT v.code AS village FROM v JOIN station s ON s.stcd = d.stcd
        WHERE ST_DWithin(s.geom::geography, v.geom::geography, 1000)
        UNION
        SELECT sv.village_code FROM station_village sv
        WHERE sv.stcd = d.stcd AND sv.village_code = ANY(%(villages)s::text[])
    ) x ON true
    WHERE d.role IN ('reservoir_administrative', 'reservoir_technical', 'reservoir_patrol')
    UNION ALL
    SELECT d.person_id, NULL, d.role, d.dike_id, v.code
    FROM duty d JOIN dike k ON k.id = d.dike_id JOIN v ON ST_Intersects(k.geom, v.geom)
    WHERE d.role = 'dike'
    UNION ALL
    SELECT d.person_id, NULL, d.role, d.hazard_point_id, v.code
    FROM duty d
    JOIN hazard_point h ON h.id = d.hazard_point_id
    JOIN v ON v.code = h.village_code OR ST_Intersects(h.geom, v.geom)
    WHERE d.role IN ('hazard_monitor', 'hazard_responsible')
    UNION ALL
    -- a duty room's own number is used only when it is a mobile (the demo's are landlines)
    SELECT s.person_id, CASE WHEN s.phone ~ '^1[3-9][0-9]{9}$' THEN s.phone END,
           'duty_' || s.post, s.org_code, v.code
    FROM duty_shift s JOIN v ON s.org_code IN (v.township, v.county)
    WHERE s.shift @> %(at)s::timestamptz
), r AS (
    SELECT coalesce(x.phone, p.phone) AS phone, p.id, p.name, x.role, x.subject, x.village
    FROM responsible x JOIN person p ON p.id = x.person_id
)
SELECT %(warning_id)s, %(version)s, 'sms', r.phone,
       %(payload)s::jsonb || jsonb_build_object(
           'phone', r.phone,
           'person_id', min(r.id),
           'name', (array_agg(r.name ORDER BY r.id))[1],
           'roles', array_agg(DISTINCT r.role ORDER BY r.role),
           'duties', array_agg(DISTINCT r.role || ':' || r.subject
                               ORDER BY r.role || ':' || r.subject),
           'village_codes', array_agg(DISTINCT r.village ORDER BY r.village)),
       %(key)s || ':sms:' || r.phone
FROM r
WHERE r.phone ~ '^1[3-9][0-9]{9}$'
GROUP BY r.phone
ORDER BY r.phone
ON CONFLICT (idempotency_key) DO NOTHING;
