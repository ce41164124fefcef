-- Warnings as one GeoJSON FeatureCollection page, built in PostGIS (no per-row Python work).
-- public: show each warning's published version (and only warnings ever published); otherwise
-- the current version (drafts included). A NULL filter means "any"; area is the caller's area
-- prefix (api/areas.py). The geometry is the version's area (the warning's area unless a
-- pending draft changed it), simplified for maps.
--
-- Time has one source of truth: warning.expires_at, which the database derives from the
-- <expires> of the version in force (migration 0026). A warning is in force from valid_from
-- until the earlier of its expiry and its end (cancel or all-clear). Its status is reported as
-- of now: an open warning whose expiry has passed is 'expired' even before the next rules run
-- sends the all-clear, so status=issued (the public default) means "in force now". With a
-- datetime, status=issued also finds warnings that were in force during the asked interval.
WITH hit AS (
    SELECT w.id, t.status, w.hazard, w.rule_id, w.rule_version, w.cap_status, w.review,
           w.current_version, w.published_version, w.first_fired_at, w.last_fired_at,
           w.valid_from, w.expires_at, w.ended_at, w.updated_at, w.village_codes AS area_codes,
           w.geom, w.issuer_code,
           CASE WHEN %(public)s THEN w.published_version ELSE w.current_version END AS shown
    FROM warning w
    CROSS JOIN LATERAL (
        SELECT CASE WHEN w.status IN ('candidate', 'issued') AND w.expires_at <= now()
                    THEN 'expired' ELSE w.status END AS status,
               least(w.expires_at, coalesce(w.ended_at, 'infinity')) AS until,
               %(start)s::timestamptz IS NOT NULL OR %(end)s::timestamptz IS NOT NULL AS timed
    ) t
    WHERE (NOT %(public)s OR w.published_version IS NOT NULL)
      -- the caller's area of responsibility (api/areas.py): a warning covering one of its villages
      AND (%(area)s::text IS NULL
           OR EXISTS (SELECT FROM unnest(w.village_codes) c WHERE c LIKE %(area)s || '%%'))
      AND (%(statuses)s::text[] IS NULL OR t.status = ANY(%(statuses)s::text[])
           OR (t.timed AND w.published_version IS NOT NULL
               AND 'issued' = ANY(%(statuses)s::text[])))
      AND (%(hazards)s::text[] IS NULL OR w.hazard = ANY(%(hazards)s::text[]))
      AND (%(rules)s::text[] IS NULL OR w.rule_id = ANY(%(rules)s::text[]))
      AND (%(village)s::text IS NULL OR w.village_codes @> ARRAY[%(village)s::text])
      AND (%(xmin)s::float8 IS NULL
           OR ST_Intersects(w.geom, ST_MakeEnvelope(%(xmin)s::float8, %(ymin)s::float8,
                                                    %(xmax)s::float8, %(ymax)s::float8, 4326)))
      AND (%(start)s::timestamptz IS NULL OR t.until > %(start)s)
      AND (%(end)s::timestamptz IS NULL OR w.valid_from <= %(end)s)
),
shown AS (
    SELECT h.*, v.colour, v.action, v.msg_type, v.event_zh, v.event_en, v.headline_zh,
           v.headline_en, v.urgency, v.severity, v.certainty, v.response_type, v.effective,
           v.expires, v.cap_identifier, v.cap_sent, v.village_codes
    FROM hit h
    JOIN warning_version v ON v.warning_id = h.id AND v.version = h.shown
    WHERE (%(colours)s::text[] IS NULL OR v.colour = ANY(%(colours)s::text[]))
),
page AS (
    SELECT * FROM shown ORDER BY updated_at DESC, id DESC LIMIT %(limit)s OFFSET %(offset)s
)
SELECT (SELECT count(*) FROM shown) AS matched,
       (SELECT count(*) FROM page) AS returned,
       (SELECT coalesce(json_agg(q.feature ORDER BY q.n), '[]')::text FROM (
           SELECT row_number() OVER (ORDER BY p.updated_at DESC, p.id DESC) AS n,
                  json_build_object(
               'type', 'Feature',
               'id', p.id,
               'geometry', ST_AsGeoJSON(ST_ReducePrecision(ST_SimplifyPreserveTopology(
                   CASE WHEN p.village_codes @> p.area_codes AND p.area_codes @> p.village_codes
                        THEN p.geom
                        ELSE coalesce((SELECT ST_Multi(ST_Union(a.geom)) FROM admin_unit a
                                       WHERE a.level = 'village'
                                         AND a.code = ANY(p.village_codes)), p.geom)
                   END, %(tolerance)s), 1e-6), 6)::json,  -- on the 6-decimal grid: valid
               'properties', json_build_object(
                   'id', p.id,
                   'status', p.status,
                   'colour', p.colour,
                   'level', CASE p.colour WHEN 'blue' THEN '四级' WHEN 'yellow' THEN '三级'
                                          WHEN 'orange' THEN '二级' WHEN 'red' THEN '一级' END,
                   'hazard', p.hazard,
                   'rule', p.rule_id,
                   'rule_version', p.rule_version,
                   'issuer_code', p.issuer_code,  -- NULL: the county of its villages
                   'action', p.action,
                   'cap_status', p.cap_status,
                   'review', p.review,
                   'version', p.shown,
                   'current_version', p.current_version,
                   'published_version', p.published_version,
                   'pending_review', p.status IN ('candidate', 'issued')
                                     AND p.published_version IS DISTINCT FROM p.current_version,
                   'msg_type', p.msg_type,
                   'event_zh', p.event_zh,
                   'event_en', p.event_en,
                   'headline_zh', p.headline_zh,
                   'headline_en', p.headline_en,
                   'urgency', p.urgency,
                   'severity', p.severity,
                   'certainty', p.certainty,
                   'response_type', p.response_type,
                   'effective', p.effective,
                   'expires', p.expires,
                   'sent', p.cap_sent,
                   'first_fired_at', p.first_fired_at,
                   'last_fired_at', p.last_fired_at,
                   'ended_at', p.ended_at,
                   'updated_at', p.updated_at,
                   'village_count', cardinality(p.village_codes),
                   'village_codes', p.village_codes,
                   'cap_identifier', p.cap_identifier,
                   'links', CASE WHEN p.published_version IS NULL
                       THEN json_build_array(
                           json_build_object('rel', 'self', 'type', 'application/json',
                                             'href', %(base)s || p.id))
                       ELSE json_build_array(
                           json_build_object('rel', 'self', 'type', 'application/json',
                                             'href', %(base)s || p.id),
                           json_build_object('rel', 'alternate', 'type', 'application/cap+xml',
                                             'href', %(base)s || p.id || '.cap'))
                       END
               )) AS feature
           FROM page p
       ) q) AS features;
