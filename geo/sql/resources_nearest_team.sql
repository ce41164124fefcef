-- Rescue teams of the given specialties (NULL = any), nearest first (geodesic, as
-- resources_nearest_shelter.sql), with their leader and member count.
WITH area AS (SELECT ST_GeomFromWKB(%(area)s, 4326) AS g),
cand AS (
    SELECT t.* FROM rescue_team t, area
    WHERE (%(specialties)s::text[] IS NULL OR t.specialty = ANY(%(specialties)s::text[]))
      AND (%(area_prefix)s::text IS NULL OR t.admin_code LIKE %(area_prefix)s || '%%')  -- an area of responsibility
    ORDER BY t.geom <-> area.g
    LIMIT %(pool)s
)
SELECT c.id, c.name, c.specialty, c.level, c.admin_code,
       ST_Distance(c.geom::geography, area.g::geography) AS distance_m,
       p.name AS leader_name, p.phone AS leader_phone,
       (SELECT count(*) FROM team_member tm WHERE tm.team_id = c.id) AS members,
       ST_X(c.geom) AS lon, ST_Y(c.geom) AS lat
FROM cand c CROSS JOIN area LEFT JOIN person p ON p.id = c.leader_id
ORDER BY distance_m, c.id
LIMIT %(k)s;
