-- One SMS per phone of the village cadres, disaster information officers and grid officers.
INSERT INTO outbox (warning_id, version, channel, target, payload, idempotency_key)
SELECT %(warning_id)s, %(version)s, 'sms', x.phone,
       %(payload)s::jsonb || jsonb_build_object('phone', x.phone, 'person_id', x.person_id,
           'name', x.name, 'roles', x.roles, 'village_codes', x.villages),
       %(key)s || ':sms:' || x.phone
FROM (
    SELECT p.phone, min(p.id) AS person_id, min(p.name) AS name,
           array_agg(DISTINCT d.role ORDER BY d.role) AS roles,
           array_agg(DISTINCT d.admin_code ORDER BY d.admin_code) AS villages
    FROM duty d JOIN person p ON p.id = d.person_id
    WHERE d.role IN ('village_cadre', 'disaster_info_officer', 'grid_officer')
      AND d.admin_code = ANY(%(villages)s::text[])
    GROUP BY p.phone
) x
ORDER BY x.phone
ON CONFLICT (idempotency_key) DO NOTHING;
