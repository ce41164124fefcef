-- Warnings whose area includes the village, newest first, with the current text's headline.
SELECT w.id, w.rule_id, w.rule_version, w.hazard, w.colour, w.level, w.action, w.status,
       w.cap_status, w.review, w.first_fired_at, w.last_fired_at, w.valid_from, w.expires_at,
       w.ended_at, cardinality(w.village_codes) AS villages, v.headline_zh, v.headline_en
FROM warning w
LEFT JOIN warning_version v ON v.warning_id = w.id AND v.version = w.current_version
WHERE w.village_codes @> ARRAY[%(code)s::text]
  AND (%(status)s::text[] IS NULL OR w.status = ANY(%(status)s::text[]))
ORDER BY w.first_fired_at DESC, w.id DESC;
