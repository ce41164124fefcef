-- The SMS of a site alarm notice, one per mobile phone: a threshold alarm goes to the site's
-- safety contact (安全负责人), a device fault to its maintenance contact (设备运维), and both to
-- the members of its supervising section (危化股 / 矿山股) in the site's county. Never to a
-- village. A person in two of these roles gets one message naming both.
WITH who AS (
    SELECT p.id, p.name, p.phone, 'site_safety' AS role
    FROM person p WHERE p.id = %(safety_contact)s AND %(kind)s = 'threshold'
    UNION ALL
    SELECT p.id, p.name, p.phone, 'maintenance'
    FROM person p WHERE p.id = %(maintenance_contact)s AND %(kind)s = 'fault'
    UNION ALL
    SELECT p.id, p.name, p.phone, 'section'
    FROM ws_section_member m JOIN person p ON p.id = m.person_id
    WHERE m.county_code = %(county_code)s AND m.section = %(section)s
),
one AS (
    SELECT phone, min(id) AS person_id, min(name) AS name, array_agg(DISTINCT role) AS roles
    FROM who WHERE phone ~ '^1[3-9][0-9]{9}$'
    GROUP BY phone
)
INSERT INTO outbox (ws_notice_id, channel, target, payload, idempotency_key)
SELECT %(notice_id)s, 'sms', one.phone,
       %(payload)s::jsonb || jsonb_build_object('phone', one.phone, 'person_id', one.person_id,
                                                'name', one.name, 'roles', one.roles),
       'ws_notice:' || %(notice_id)s || ':sms:' || one.phone
FROM one
ORDER BY one.phone
ON CONFLICT (idempotency_key) DO NOTHING
RETURNING id;
