-- Upsert, never delete + insert: n (the readings' key) must stay with a point that stays.
INSERT INTO ws_point (id, site_id, item, quantity, name, unit, direction, phys_min, phys_max,
                      max_jump, mn, factor, dataset_id, geom)
SELECT %(id)s, %(site_id)s, %(item)s, %(quantity)s, %(name)s, %(unit)s, %(direction)s,
       %(phys_min)s, %(phys_max)s, %(max_jump)s, %(mn)s, %(factor)s, %(dataset_id)s,
       CASE WHEN %(lon)s::float8 IS NULL THEN ST_PointOnSurface(s.geom)
            ELSE ST_SetSRID(ST_MakePoint(%(lon)s::float8, %(lat)s::float8), 4326) END
FROM hazardous_site s WHERE s.id = %(site_id)s
ON CONFLICT (id) DO UPDATE
SET site_id = EXCLUDED.site_id, item = EXCLUDED.item, quantity = EXCLUDED.quantity,
    name = EXCLUDED.name, unit = EXCLUDED.unit, direction = EXCLUDED.direction,
    phys_min = EXCLUDED.phys_min, phys_max = EXCLUDED.phys_max, max_jump = EXCLUDED.max_jump,
    mn = EXCLUDED.mn, factor = EXCLUDED.factor, dataset_id = EXCLUDED.dataset_id,
    geom = EXCLUDED.geom
RETURNING n, (xmax = 0) AS inserted;
