-- The last mile of a warning, per targeted village of its newest announced version (the newest
-- version with loudspeaker or SMS messages): terminals reached and acknowledged, phones texted
-- and confirmed by receipt. `state` is the village's best: acknowledged > delivered > pending
-- > failed; no_terminal when the village has no loudspeaker. Messages telling villages that
-- left the area it is over for them (left_area) are not part of it.
WITH v AS (
    SELECT max(version) AS version FROM outbox
    WHERE warning_id = %(id)s AND channel IN ('broadcast', 'sms')
      AND NOT payload ? 'left_area'
), ver AS (
    SELECT wv.version, wv.village_codes, wv.published_at, wv.msg_type
    FROM warning_version wv JOIN v USING (version)
    WHERE wv.warning_id = %(id)s
), b AS (
    SELECT o.payload ->> 'village_code' AS code, count(*) AS terminals,
           count(*) FILTER (WHERE o.status IN ('sent', 'acked')) AS delivered,
           count(*) FILTER (WHERE o.status = 'acked') AS acknowledged,
           count(*) FILTER (WHERE o.status IN ('failed', 'dead')) AS failed,
           count(*) FILTER (WHERE o.status = 'pending') AS pending,
           min(o.sent_at) AS first_delivered_at, min(o.acked_at) AS first_acknowledged_at
    FROM outbox o JOIN v ON o.version = v.version
    WHERE o.warning_id = %(id)s AND o.channel = 'broadcast' AND NOT o.payload ? 'left_area'
    GROUP BY 1
), s AS (
    SELECT c.code, count(*) AS phones,
           count(*) FILTER (WHERE o.status IN ('sent', 'acked')) AS sms_sent,
           count(*) FILTER (WHERE o.status = 'acked') AS sms_delivered,
           count(*) FILTER (WHERE o.status IN ('failed', 'dead')) AS sms_failed
    FROM outbox o JOIN v ON o.version = v.version
    CROSS JOIN LATERAL jsonb_array_elements_text(
        coalesce(o.payload -> 'village_codes', '[]'::jsonb)) AS c (code)
    WHERE o.warning_id = %(id)s AND o.channel = 'sms'
    GROUP BY c.code
)
SELECT vil.code, a.name, a.parent_code AS township_code, t.name AS township_name,
       ver.version, ver.msg_type, ver.published_at,
       coalesce(b.terminals, 0)::int AS terminals, coalesce(b.delivered, 0)::int AS delivered,
       coalesce(b.acknowledged, 0)::int AS acknowledged, coalesce(b.failed, 0)::int AS failed,
       coalesce(b.pending, 0)::int AS pending,
       b.first_delivered_at, b.first_acknowledged_at,
       coalesce(s.phones, 0)::int AS phones, coalesce(s.sms_sent, 0)::int AS sms_sent,
       coalesce(s.sms_delivered, 0)::int AS sms_delivered,
       coalesce(s.sms_failed, 0)::int AS sms_failed,
       CASE WHEN b.code IS NULL THEN 'no_terminal'
            WHEN b.acknowledged > 0 THEN 'acknowledged'
            WHEN b.delivered > 0 THEN 'delivered'
            WHEN b.pending > 0 THEN 'pending'
            ELSE 'failed' END AS state,
       extract(epoch FROM now() - ver.published_at)::float8 AS age_s
FROM ver
CROSS JOIN LATERAL unnest(ver.village_codes) AS vil (code)
JOIN admin_unit a ON a.code = vil.code
LEFT JOIN admin_unit t ON t.code = a.parent_code
LEFT JOIN b ON b.code = vil.code
LEFT JOIN s ON s.code = vil.code
ORDER BY a.parent_code, vil.code;
