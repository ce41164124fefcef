-- One message per village loudspeaker terminal of the version's villages.
INSERT INTO outbox (warning_id, version, channel, target, payload, idempotency_key)
SELECT %(warning_id)s, %(version)s, 'broadcast', t.id,
       %(payload)s::jsonb || jsonb_build_object('terminal_id', t.id, 'protocol', t.protocol,
           'endpoint', t.endpoint, 'village_code', t.village_code, 'terminal_status', t.status),
       %(key)s || ':broadcast:' || t.id
FROM broadcast_terminal t
WHERE t.village_code = ANY(%(villages)s::text[])
ORDER BY t.id
ON CONFLICT (idempotency_key) DO NOTHING;
