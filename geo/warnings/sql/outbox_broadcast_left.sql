-- Villages the previous published version covered and this one does not (the rule stopped
-- firing there: a trim, or a smaller area): their loudspeakers are told the warning is over for
-- them (解除), since the new version goes only to the villages still in it. For the receiver it
-- is the warning's newest version on that terminal, so an older alert never plays after it.
INSERT INTO outbox (warning_id, version, channel, target, payload, idempotency_key)
SELECT %(warning_id)s, %(version)s, 'broadcast', t.id,
       %(payload)s::jsonb || jsonb_build_object(
           'terminal_id', t.id, 'protocol', t.protocol, 'endpoint', t.endpoint,
           'village_code', t.village_code, 'terminal_status', t.status,
           'villages', jsonb_build_array(t.village_code), 'left_area', true),
       %(key)s || ':broadcast-left:' || t.id
FROM broadcast_terminal t
WHERE t.village_code = ANY (
    SELECT unnest(p.village_codes)
    FROM (SELECT village_codes FROM warning_version
          WHERE warning_id = %(warning_id)s AND version < %(version)s AND state = 'published'
          ORDER BY version DESC LIMIT 1) p
    EXCEPT SELECT unnest(%(villages)s::text[])
)
ORDER BY t.id
ON CONFLICT (idempotency_key) DO NOTHING;
