-- One warning for its detail page (no raw geometry column) with its area as GeoJSON: the
-- area of the version shown (public: the published one), which a pending draft may differ from.
-- expires_at is the one expiry (derived by the database from the <expires> of the version in
-- force, migration 0026); status is as of now (an open warning past its expiry is 'expired'
-- before the next rules run sends its all-clear) and in_force says whether the public has it
-- in force now. upstream_conflicts: upstream signals (the weather office's relayed CAP) for the
-- same hazard over this area at another level, found when the rule last wrote this version.
SELECT w.id, w.rule_id, w.rule_version, w.hazard, w.colour, w.level, w.action,
       CASE WHEN w.status IN ('candidate', 'issued') AND w.expires_at <= now() THEN 'expired'
            ELSE w.status END AS status,
       w.status = 'issued' AND w.expires_at > now() AS in_force,
       w.cap_status, w.review, w.current_version, w.published_version, w.first_fired_at,
       w.last_fired_at, w.valid_from, w.expires_at, w.hold_hours, w.village_codes, w.ended_at,
       w.created_at, w.updated_at, w.issuer_code,
       coalesce(v.evidence -> 'upstream_conflicts', '[]'::jsonb) AS upstream_conflicts,
       ST_AsGeoJSON(coalesce(
           (SELECT ST_Multi(ST_Union(a.geom)) FROM admin_unit a
            WHERE a.level = 'village' AND a.code = ANY(v.village_codes)
              AND NOT (v.village_codes @> w.village_codes AND w.village_codes @> v.village_codes)),
           w.geom), 6)::jsonb AS geometry
FROM warning w
LEFT JOIN warning_version v
       ON v.warning_id = w.id
      AND v.version = CASE WHEN %(public)s THEN w.published_version ELSE w.current_version END
WHERE w.id = %(id)s;
