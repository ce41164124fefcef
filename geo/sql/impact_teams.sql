-- Rescue teams of the given specialties, nearest first, with their leader.
WITH area AS (SELECT ST_GeomFromWKB(%(area)s, 4326) AS g),
cand AS (
    SELECT t.* FROM rescue_team t, area
    WHERE t.specialty = ANY(%(specialties)s)
    ORDER BY t.geom <-> area.g
    LIMIT %(pool)s
)
SELECT c.id, c.name, c.specialty, c.level, c.admin_code,
       ST_Distance(c.geom::geography, area.g::geography) / 1000.0 AS distance_km,
       p.name AS leader_name, p.phone AS leader_phone,
       (SELECT count(*) FROM team_member tm WHERE tm.team_id = c.id) AS members
FROM cand c CROSS JOIN area LEFT JOIN person p ON p.id = c.leader_id
ORDER BY distance_km, c.id
LIMIT %(k)s;
