-- The CAP messages in force at `at` (now): the published version of every issued warning whose
-- expiry (warning.expires_at, derived from that version's <expires>: migration 0026) is still
-- ahead, newest first. A warning past its expiry leaves the feed at once, before the next rules
-- run sends its all-clear.
SELECT w.id, v.version, v.cap_identifier, v.cap_sender, v.cap_sent, v.msg_type, v.colour,
       v.event_zh, v.headline_zh, v.headline_en, v.severity, v.urgency, v.certainty,
       v.effective, v.expires, w.cap_status, w.updated_at,
       (SELECT c.name FROM admin_unit c WHERE c.code = left(v.cap_identifier, 6)) AS county_name
FROM warning w
JOIN warning_version v ON v.warning_id = w.id AND v.version = w.published_version
WHERE w.status = 'issued' AND w.expires_at > %(at)s AND v.effective <= %(at)s
ORDER BY v.cap_sent DESC, w.id DESC
LIMIT %(limit)s;
