-- Insert a draft version, or rewrite it in place while it is still a draft.
INSERT INTO warning_version (warning_id, version, msg_type, colour, action, village_codes,
    event_zh, event_en, headline_zh, headline_en, description_zh, description_en,
    instruction_zh, instruction_en, category, urgency, severity, certainty, response_type,
    effective, expires, evidence, created_by, reason)
VALUES (%(warning_id)s, %(version)s, %(msg_type)s, %(colour)s, %(action)s, %(village_codes)s,
    %(event_zh)s, %(event_en)s, %(headline_zh)s, %(headline_en)s, %(description_zh)s,
    %(description_en)s, %(instruction_zh)s, %(instruction_en)s, %(category)s, %(urgency)s,
    %(severity)s, %(certainty)s, %(response_type)s, %(effective)s, %(expires)s, %(evidence)s,
    %(created_by)s, %(reason)s)
ON CONFLICT (warning_id, version) DO UPDATE SET
    colour = EXCLUDED.colour, action = EXCLUDED.action, village_codes = EXCLUDED.village_codes,
    event_zh = EXCLUDED.event_zh, event_en = EXCLUDED.event_en,
    headline_zh = EXCLUDED.headline_zh, headline_en = EXCLUDED.headline_en,
    description_zh = EXCLUDED.description_zh, description_en = EXCLUDED.description_en,
    instruction_zh = EXCLUDED.instruction_zh, instruction_en = EXCLUDED.instruction_en,
    category = EXCLUDED.category, urgency = EXCLUDED.urgency, severity = EXCLUDED.severity,
    certainty = EXCLUDED.certainty, response_type = EXCLUDED.response_type,
    effective = EXCLUDED.effective, expires = EXCLUDED.expires, evidence = EXCLUDED.evidence,
    created_by = EXCLUDED.created_by, reason = EXCLUDED.reason;
