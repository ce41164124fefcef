-- One warning for its detail page (no raw geometry column) with its area as GeoJSON: the
-- area of the version shown (public: the published one), which a pending draft may differ from.
SELECT w.id, w.rule_id, w.rule_version, w.hazard, w.colour, w.level, w.action, w.status,
       w.cap_status, w.review, w.current_version, w.published_version, w.first_fired_at,
       w.last_fired_at, w.valid_from, w.expires_at, w.hold_hours, w.village_codes, w.ended_at,
       w.created_at, w.updated_at,
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
