-- Upstream CAP signals (the weather office's relayed alerts) in force at `at` for the same
-- hazard over some of `villages` at another level than ours. The hazard is recognised by the
-- Chinese words of the upstream event or headline; the colour as in geo/rules/sql/cap_colour.sql
-- (colour word of the headline or event, else the CAP severity).
WITH words(hazard, word) AS (
    VALUES ('rainstorm', '暴雨'), ('flash_flood', '山洪'), ('geohazard', '地质灾害'),
           ('forest_fire', '森林火险'), ('river_flood', '洪水'), ('typhoon', '台风')
),
live AS (
    SELECT a.id, a.identifier, a.sender, a.sent, i.ordinal, i.event, i.headline, i.expires,
           CASE WHEN concat(i.headline, i.event) LIKE '%%红色%%' THEN 'red'
                WHEN concat(i.headline, i.event) LIKE '%%橙色%%' THEN 'orange'
                WHEN concat(i.headline, i.event) LIKE '%%黄色%%' THEN 'yellow'
                WHEN concat(i.headline, i.event) LIKE '%%蓝色%%' THEN 'blue'
                WHEN i.severity = 'Extreme' THEN 'red' WHEN i.severity = 'Severe' THEN 'orange'
                WHEN i.severity = 'Moderate' THEN 'yellow' WHEN i.severity = 'Minor' THEN 'blue'
           END AS colour
    FROM cap_alert a
    JOIN cap_info i ON i.alert_id = a.id
    WHERE a.status = 'Actual' AND a.msg_type IN ('Alert', 'Update') AND a.sent <= %(at)s
      AND coalesce(i.effective, a.sent) <= %(at)s AND (i.expires IS NULL OR i.expires > %(at)s)
      AND EXISTS (SELECT 1 FROM words w WHERE w.hazard = %(hazard)s
                  AND concat(i.headline, i.event) LIKE '%%' || w.word || '%%')
      AND NOT EXISTS (
          SELECT 1 FROM cap_reference r JOIN cap_alert b ON b.id = r.alert_id
          WHERE r.ref_sender = a.sender AND r.ref_identifier = a.identifier AND b.sent <= %(at)s)
)
SELECT l.identifier, l.sender, l.sent, l.expires, l.event, l.headline, l.colour,
       count(DISTINCT v.code)::int AS villages
FROM live l
JOIN cap_area ar ON ar.alert_id = l.id AND ar.info_ordinal = l.ordinal AND ar.geom IS NOT NULL
JOIN village v ON ST_Intersects(ar.geom, v.geom)
WHERE v.code = ANY(%(villages)s::text[]) AND l.colour IS NOT NULL AND l.colour <> %(colour)s
GROUP BY l.identifier, l.sender, l.sent, l.expires, l.event, l.headline, l.colour
ORDER BY l.sent, l.identifier;
