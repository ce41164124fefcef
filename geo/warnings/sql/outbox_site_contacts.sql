-- Cascade: an orange or red warning whose area covers, or comes within 1 km of, a hazardous site
-- (chemical plant, fireworks warehouse or shop, tailings dam, open-pit slope) also alerts the
-- site's safety contact, who must secure the site (stop work, evacuate staff, watch the dam).
INSERT INTO outbox (warning_id, version, channel, target, payload, idempotency_key)
SELECT %(warning_id)s, %(version)s, 'sms', p.phone,
       %(payload)s::jsonb || jsonb_build_object(
           'phone', p.phone, 'person_id', p.id, 'name', p.name, 'roles', ARRAY['site_safety'],
           'site_id', s.id, 'site_name', s.name, 'site_kind', s.kind,
           'text', %(site_text_prefix)s || s.name || %(site_text_suffix)s),
       %(key)s || ':site:' || s.id || ':' || p.phone
FROM warning w
JOIN hazardous_site s ON ST_DWithin(s.geom::geography, w.geom::geography, 1000)
JOIN person p ON p.id = s.safety_contact_id
WHERE w.id = %(warning_id)s AND %(colour)s IN ('orange', 'red')
ORDER BY s.id
ON CONFLICT (idempotency_key) DO NOTHING;
