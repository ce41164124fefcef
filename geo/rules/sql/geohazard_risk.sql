-- Per village, the most severe (lowest) level of the regional geohazard risk areas active at
-- `at` that contain its hazard points, and the people, households and points at that level.
WITH hit AS (
    SELECT p.village_code, p.id, p.threatened_people, p.threatened_households,
           min(a.level) AS level
    FROM hazard_point p
    JOIN geohazard_risk_area a
      ON a.valid_from <= %(at)s AND a.valid_to > %(at)s AND ST_Intersects(a.geom, p.geom)
    GROUP BY p.village_code, p.id, p.threatened_people, p.threatened_households
), ranked AS (
    SELECT h.*, min(h.level) OVER (PARTITION BY h.village_code) AS village_level FROM hit h
)
SELECT village_code, min(level)::float8, sum(threatened_people)::float8,
       sum(threatened_households)::float8, count(*)::float8
FROM ranked
WHERE level = village_level
GROUP BY village_code
