INSERT INTO warning (rule_id, rule_version, hazard, colour, action, status, cap_status, review,
                     current_version, first_fired_at, last_fired_at, valid_from, expires_at,
                     hold_hours, village_codes, issuer_code, geom)
SELECT %(rule_id)s, %(rule_version)s, %(hazard)s, %(colour)s, %(action)s, 'candidate',
       %(cap_status)s, %(review)s, 1, %(at)s, %(at)s, %(at)s, %(expires_at)s, %(hold_hours)s,
       %(village_codes)s::text[], %(issuer_code)s::text,
       -- the area: exactly its villages' outlines, unioned, on the 1e-6° grid of GeoJSON and CAP
       -- (valid as stored, so writing six decimals cannot make it self-intersect)
       ST_Multi(ST_CollectionExtract(ST_ReducePrecision(ST_Union(a.geom), 1e-6), 3))
FROM admin_unit a
WHERE a.level = 'village' AND a.code = ANY(%(village_codes)s::text[])
RETURNING id;
