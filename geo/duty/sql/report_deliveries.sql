-- The last mile of the real warnings published during [%(d0)s, %(d1)s), per warning and
-- targeted village of the area (SMS counts: the warning's messages, on every row): for each warning, its newest version announced (loudspeaker or
-- SMS messages written) and sent before %(d1)s. Same states as a warning's coverage
-- (api/sql/warnings_coverage.sql): acknowledged > delivered > pending > failed, no_terminal
-- when the village has no loudspeaker; the outbox as it stands when the report is made.
WITH w AS (
    SELECT o.warning_id, max(o.version) AS version
    FROM outbox o
    JOIN warning_version v ON v.warning_id = o.warning_id AND v.version = o.version
    JOIN warning ww ON ww.id = o.warning_id
    WHERE o.channel IN ('broadcast', 'sms') AND NOT o.payload ? 'left_area'
      AND v.cap_sent < %(d1)s AND ww.cap_status = 'Actual'
      AND EXISTS (SELECT 1 FROM warning_version x
                  WHERE x.warning_id = o.warning_id AND x.state = 'published'
                    AND x.cap_sent >= %(d0)s AND x.cap_sent < %(d1)s)
    GROUP BY o.warning_id
), b AS (
    SELECT o.warning_id, o.payload ->> 'village_code' AS code,
           count(*) FILTER (WHERE o.status IN ('sent', 'acked')) AS delivered,
           count(*) FILTER (WHERE o.status = 'acked') AS acknowledged,
           count(*) FILTER (WHERE o.status = 'pending') AS pending
    FROM outbox o JOIN w ON w.warning_id = o.warning_id AND w.version = o.version
    WHERE o.channel = 'broadcast' AND NOT o.payload ? 'left_area'
    GROUP BY 1, 2
), s AS (  -- SMS messages of the version (one per phone, whatever villages it names)
    SELECT o.warning_id, count(*) AS phones,
           count(*) FILTER (WHERE o.status IN ('sent', 'acked')) AS sms_sent,
           count(*) FILTER (WHERE o.status = 'acked') AS sms_delivered,
           count(*) FILTER (WHERE o.status IN ('failed', 'dead')) AS sms_failed
    FROM outbox o JOIN w ON w.warning_id = o.warning_id AND w.version = o.version
    WHERE o.channel = 'sms'
    GROUP BY 1
)
SELECT w.warning_id, ver.version, ver.event_zh, ver.colour, vil.code, a.name,
       t.name AS township_name,
       CASE WHEN b.code IS NULL THEN 'no_terminal'
            WHEN b.acknowledged > 0 THEN 'acknowledged'
            WHEN b.delivered > 0 THEN 'delivered'
            WHEN b.pending > 0 THEN 'pending'
            ELSE 'failed' END AS state,
       coalesce(s.phones, 0)::int AS phones, coalesce(s.sms_sent, 0)::int AS sms_sent,
       coalesce(s.sms_delivered, 0)::int AS sms_delivered,
       coalesce(s.sms_failed, 0)::int AS sms_failed
FROM w
JOIN warning_version ver ON ver.warning_id = w.warning_id AND ver.version = w.version
CROSS JOIN LATERAL unnest(ver.village_codes) AS vil (code)
JOIN admin_unit a ON a.code = vil.code
LEFT JOIN admin_unit t ON t.code = a.parent_code
LEFT JOIN b ON b.warning_id = w.warning_id AND b.code = vil.code
LEFT JOIN s ON s.warning_id = w.warning_id
WHERE %(area)s::text IS NULL OR vil.code LIKE %(area)s || '%%'
ORDER BY w.warning_id, a.parent_code, vil.code;
