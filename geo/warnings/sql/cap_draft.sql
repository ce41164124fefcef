-- The current draft version of a warning (a candidate's, or an issued warning's pending update)
-- for a reviewer's CAP preview: the columns of cap_version.sql without an identifier (none is
-- assigned before issuing), and sender, identifier and sent of every published version, oldest
-- first, for the references an update would carry.
SELECT w.id AS warning_id, w.hazard, w.rule_id, w.rule_version, w.cap_status, w.status,
       w.issuer_code,
       v.version, NULL::text AS cap_identifier, NULL::text AS cap_sender,
       NULL::timestamptz AS cap_sent, v.msg_type, v.colour, v.action, v.village_codes,
       v.event_zh, v.event_en, v.headline_zh, v.headline_en, v.description_zh,
       v.description_en, v.instruction_zh, v.instruction_en, v.category, v.urgency,
       v.severity, v.certainty, v.response_type, v.effective, v.expires, v.reason,
       (SELECT array_agg(ARRAY[p.cap_sender, p.cap_identifier] ORDER BY p.version)
        FROM warning_version p
        WHERE p.warning_id = w.id AND p.state = 'published') AS earlier,
       (SELECT array_agg(p.cap_sent ORDER BY p.version)
        FROM warning_version p
        WHERE p.warning_id = w.id AND p.state = 'published') AS earlier_sent
FROM warning w
JOIN warning_version v ON v.warning_id = w.id AND v.version = w.current_version
WHERE w.id = %(id)s
  AND v.state = 'draft';
