-- One published version of a warning with the warning's CAP status, hazard and rule (CAP XML).
-- version NULL means the version the public has now (warning.published_version).
SELECT w.id AS warning_id, w.hazard, w.rule_id, w.rule_version, w.cap_status, w.status,
       w.issuer_code,
       v.version, v.cap_identifier, v.cap_sender, v.cap_sent, v.msg_type, v.references_text,
       v.colour, v.action, v.village_codes, v.event_zh, v.event_en, v.headline_zh,
       v.headline_en, v.description_zh, v.description_en, v.instruction_zh, v.instruction_en,
       v.category, v.urgency, v.severity, v.certainty, v.response_type, v.effective, v.expires,
       v.reason
FROM warning w
JOIN warning_version v ON v.warning_id = w.id
WHERE w.id = %(id)s
  AND v.version = coalesce(%(version)s, w.published_version)
  AND v.state = 'published';
