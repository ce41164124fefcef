-- People threatened by the hazard points inside the affected area, per village: the people a
-- geohazard evacuation moves (each point's register records them).
SELECT h.village_code, sum(h.threatened_people) AS people
FROM hazard_point h
WHERE h.village_code = ANY(%(codes)s) AND ST_Covers(ST_GeomFromWKB(%(area)s, 4326), h.geom)
GROUP BY h.village_code
ORDER BY h.village_code;
