-- The versions of a warning, oldest first; the public sees only the published ones.
SELECT version, state, msg_type, cap_identifier, cap_sender, cap_sent, references_text,
       colour, action, village_codes, event_zh, event_en, headline_zh, headline_en,
       description_zh, description_en, instruction_zh, instruction_en, category, urgency,
       severity, certainty, response_type, effective, expires, evidence, created_by, reason,
       created_at, published_at
FROM warning_version
WHERE warning_id = %(id)s AND (NOT %(public)s OR state = 'published')
ORDER BY version;
