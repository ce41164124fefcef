-- Rescue teams of the given specialties within %(max_m)s m of an affected village, each with its
-- geodesic distance to the nearest village's representative point (label_point) and that
-- village, its leader and member count. The box test (&&, %(max_deg)s ≥ the longitude span of
-- the radius) lets the index find them.
WITH v AS (SELECT code, label_point FROM village WHERE code = ANY(%(codes)s)),
near AS (
    SELECT DISTINCT ON (t.id) t.id, v.code AS nearest_village,
           ST_Distance(t.geom::geography, v.label_point::geography) AS distance_m
    FROM rescue_team t
    JOIN v ON t.geom && ST_Expand(v.label_point, %(max_deg)s)
          AND ST_DWithin(t.geom::geography, v.label_point::geography, %(max_m)s)
    WHERE t.specialty = ANY(%(specialties)s::text[])
    ORDER BY t.id, distance_m, v.code
)
SELECT t.id, t.name, t.specialty, t.level, t.admin_code, n.distance_m, n.nearest_village,
       p.name AS leader_name, p.phone AS leader_phone,
       (SELECT count(*) FROM team_member tm WHERE tm.team_id = t.id) AS members,
       ST_X(t.geom) AS lon, ST_Y(t.geom) AS lat
FROM near n JOIN rescue_team t ON t.id = n.id LEFT JOIN person p ON p.id = t.leader_id
ORDER BY n.distance_m, t.id;
