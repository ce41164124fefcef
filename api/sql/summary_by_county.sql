-- Totals per county for the city wall map (GET /api/summary?by=county): every loaded county (with
-- villages) in the caller's area (%(area)s: a code prefix, NULL = all) with
--   - active warnings by colour: issued, in force now (expires_at > now()), as published; a
--     warning over villages of several counties counts in each of them;
--   - villages under an active warning, and villages and people to move: villages under an
--     active warning that asks people to move (准备转移 / 立即转移), each village once, its people
--     as the evacuation plan counts them (geo/evacuation.py: the danger-zone population for
--     floods, the people its hazard points threaten for geohazards, else the population; the
--     hazard → source table comes in %(hazards)s / %(sources)s);
--   - candidates waiting for review (in force, not yet issued), when %(reviewer)s;
--   - field reports observed in the last %(hours)s hours and not found false, when %(internal)s;
--   - delivery coverage of the active warnings' newest announced version (as
--     warnings_coverage.sql): villages targeted, reached (a loudspeaker took or played it, or an
--     SMS was accepted) and acknowledged (played), each village once, when %(internal)s.
-- Internal figures are NULL for the public, candidates for callers who may not review.
WITH county AS (
    SELECT k.code, k.name FROM admin_unit k
    WHERE k.level = 'county' AND (%(area)s::text IS NULL OR k.code LIKE %(area)s || '%%')
      -- loaded counties: those with villages (a city's other outlines only draw the basemap)
      AND EXISTS (SELECT FROM admin_unit v WHERE v.level = 'village' AND v.gb2260 = k.code)
), active AS (
    SELECT w.id, w.hazard, v.version, v.colour, v.action, v.village_codes
    FROM warning w
    JOIN warning_version v ON v.warning_id = w.id AND v.version = w.published_version
    WHERE w.status = 'issued' AND w.expires_at > now()
), active_by_county AS (
    SELECT DISTINCT a.id, a.colour, left(c, 6) AS county
    FROM active a CROSS JOIN LATERAL unnest(a.village_codes) c
), warned AS (
    SELECT c AS code, bool_or(a.action IS NOT NULL) AS move,
           array_agg(DISTINCT a.hazard) FILTER (WHERE a.action IS NOT NULL) AS hazards
    FROM active a CROSS JOIN LATERAL unnest(a.village_codes) c
    GROUP BY c
), people AS (
    SELECT w.code, w.move,
           CASE WHEN NOT w.move THEN 0 ELSE (
               SELECT max(CASE s.source
                   WHEN 'danger_zone' THEN least(v.population,
                                                 coalesce(v.danger_zone_population, v.population))
                   WHEN 'hazard_points' THEN least(v.population, coalesce(
                       (SELECT sum(h.threatened_people) FROM hazard_point h
                        WHERE h.village_code = w.code), 0))
                   ELSE v.population END)
               FROM unnest(w.hazards) hz
               LEFT JOIN unnest(%(hazards)s::text[], %(sources)s::text[]) s (hazard, source)
                      ON s.hazard = hz) END AS n
    FROM warned w JOIN village v ON v.code = w.code
), candidates AS (
    SELECT DISTINCT w.id, left(c, 6) AS county
    FROM warning w CROSS JOIN LATERAL unnest(w.village_codes) c
    WHERE %(reviewer)s AND w.status = 'candidate' AND w.expires_at > now()
), reports AS (
    SELECT left(r.village_code, 6) AS county, count(*) AS n
    FROM field_report r
    WHERE %(internal)s AND r.status <> 'false'
      AND r.observed_at > now() - make_interval(hours => %(hours)s)
    GROUP BY 1
), announced AS (  -- each active warning's newest version with loudspeaker or SMS messages
    SELECT o.warning_id, max(o.version) AS version
    FROM outbox o JOIN active a ON a.id = o.warning_id
    WHERE %(internal)s AND o.channel IN ('broadcast', 'sms') AND NOT o.payload ? 'left_area'
    GROUP BY o.warning_id
), delivered AS (
    SELECT c AS code,
           bool_or(o.status IN ('sent', 'acked')) AS reached,
           bool_or(o.status = 'acked' AND o.channel = 'broadcast') AS acknowledged
    FROM announced n
    JOIN warning_version wv ON wv.warning_id = n.warning_id AND wv.version = n.version
    CROSS JOIN LATERAL unnest(wv.village_codes) c
    LEFT JOIN outbox o
           ON o.warning_id = n.warning_id AND o.version = n.version AND NOT o.payload ? 'left_area'
          AND ((o.channel = 'broadcast' AND o.payload ->> 'village_code' = c)
               OR (o.channel = 'sms' AND o.payload -> 'village_codes' ? c))
    GROUP BY c
)
SELECT k.code, k.name,
       (SELECT count(*) FROM active_by_county a WHERE a.county = k.code AND a.colour = 'blue')
           AS blue,
       (SELECT count(*) FROM active_by_county a WHERE a.county = k.code AND a.colour = 'yellow')
           AS yellow,
       (SELECT count(*) FROM active_by_county a WHERE a.county = k.code AND a.colour = 'orange')
           AS orange,
       (SELECT count(*) FROM active_by_county a WHERE a.county = k.code AND a.colour = 'red')
           AS red,
       (SELECT count(*) FROM people p WHERE left(p.code, 6) = k.code) AS villages_warned,
       (SELECT count(*) FROM people p WHERE left(p.code, 6) = k.code AND p.move)
           AS villages_to_move,
       (SELECT coalesce(sum(p.n), 0) FROM people p WHERE left(p.code, 6) = k.code)::bigint
           AS people_to_move,
       CASE WHEN %(reviewer)s THEN
           (SELECT count(*) FROM candidates c WHERE c.county = k.code) END AS candidates,
       CASE WHEN %(internal)s THEN
           coalesce((SELECT r.n FROM reports r WHERE r.county = k.code), 0) END AS field_reports,
       CASE WHEN %(internal)s THEN
           (SELECT count(*) FROM delivered d WHERE left(d.code, 6) = k.code) END
           AS villages_targeted,
       CASE WHEN %(internal)s THEN
           (SELECT count(*) FROM delivered d WHERE left(d.code, 6) = k.code AND d.reached) END
           AS villages_reached,
       CASE WHEN %(internal)s THEN
           (SELECT count(*) FROM delivered d
            WHERE left(d.code, 6) = k.code AND d.acknowledged) END AS villages_acknowledged
FROM county k
ORDER BY k.code;
