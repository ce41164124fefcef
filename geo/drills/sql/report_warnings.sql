-- Each warning of the drill: when its rule first fired (the threshold crossed, on the scenario
-- clock) and when its first version was published (issued, same clock); NULL while a candidate.
SELECT w.id, w.hazard, w.rule_id, w.colour, w.level, w.action, w.review, w.status, w.cap_status,
       w.drill_id, w.first_fired_at AS crossed_at, cardinality(w.village_codes) AS villages,
       p.cap_sent AS issued_at, p.cap_identifier, coalesce(p.headline_zh, d.headline_zh) AS headline_zh,
       coalesce(p.headline_en, d.headline_en) AS headline_en
FROM warning w
LEFT JOIN LATERAL (
    SELECT v.cap_sent, v.cap_identifier, v.headline_zh, v.headline_en FROM warning_version v
    WHERE v.warning_id = w.id AND v.state = 'published' ORDER BY v.version LIMIT 1
) p ON true
LEFT JOIN LATERAL (
    SELECT v.headline_zh, v.headline_en FROM warning_version v
    WHERE v.warning_id = w.id ORDER BY v.version LIMIT 1
) d ON true
ORDER BY w.first_fired_at, w.id;
