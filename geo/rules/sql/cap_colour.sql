-- Per village, the highest colour (1 blue … 4 red) of upstream CAP alerts in force at `at`
-- whose areas cover it: sent by then, not yet expired, not replaced by an Update or Cancel sent
-- by then. The colour is read from the Chinese colour word of the headline or event, else from
-- the CAP severity. The event, issuer (senderName), headline and language go with it: a relay
-- keeps them (in Chinese texts only when the source wrote Chinese; of the info blocks of one
-- alert, Chinese first, then English). %(require_verified)s: only alerts whose XML signature
-- verified against the trusted certificates (signature_status, migration 0044).
WITH live AS (
    SELECT a.id, i.ordinal, i.event, i.sender_name, i.headline, i.language,
           CASE WHEN lower(i.language) LIKE 'zh%%' THEN 0
                WHEN lower(i.language) LIKE 'en%%' THEN 1 ELSE 2 END AS language_rank,
           CASE WHEN concat(i.headline, i.event) LIKE '%%红色%%' THEN 4
                WHEN concat(i.headline, i.event) LIKE '%%橙色%%' THEN 3
                WHEN concat(i.headline, i.event) LIKE '%%黄色%%' THEN 2
                WHEN concat(i.headline, i.event) LIKE '%%蓝色%%' THEN 1
                WHEN i.severity = 'Extreme' THEN 4 WHEN i.severity = 'Severe' THEN 3
                WHEN i.severity = 'Moderate' THEN 2 WHEN i.severity = 'Minor' THEN 1
           END AS colour
    FROM cap_alert a
    JOIN cap_info i ON i.alert_id = a.id
    WHERE a.status = 'Actual' AND a.msg_type IN ('Alert', 'Update') AND a.sent <= %(at)s
      AND (NOT %(require_verified)s OR a.signature_status = 'verified')
      AND coalesce(i.effective, a.sent) <= %(at)s AND (i.expires IS NULL OR i.expires > %(at)s)
      AND NOT EXISTS (
          SELECT 1 FROM cap_reference r JOIN cap_alert b ON b.id = r.alert_id
          WHERE r.ref_sender = a.sender AND r.ref_identifier = a.identifier AND b.sent <= %(at)s)
)
SELECT DISTINCT ON (v.code) v.code, l.colour::float8, l.event, l.sender_name, l.headline,
       l.language
FROM live l
JOIN cap_area ar ON ar.alert_id = l.id AND ar.info_ordinal = l.ordinal AND ar.geom IS NOT NULL
JOIN village v ON ST_Intersects(ar.geom, v.geom)
WHERE l.colour IS NOT NULL
ORDER BY v.code, l.colour DESC, l.language_rank, l.id, l.ordinal
