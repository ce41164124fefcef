-- A drill's warnings for its page (read in the drill schema).
SELECT w.id, w.drill_id, w.status, w.cap_status, w.hazard, w.rule_id, w.colour, w.level,
       w.action, w.review, w.first_fired_at, w.valid_from, w.expires_at, w.ended_at,
       w.current_version, w.published_version, cardinality(w.village_codes) AS villages,
       v.headline_zh, v.headline_en, v.cap_identifier, v.msg_type
FROM warning w
JOIN warning_version v ON v.warning_id = w.id AND v.version = w.current_version
ORDER BY w.first_fired_at, w.id;
