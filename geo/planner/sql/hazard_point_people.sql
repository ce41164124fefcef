-- People threatened by the geohazard points (地质灾害隐患点) of each village, as each point's
-- register records them: the people a geohazard evacuation moves (geo/evacuation.py).
SELECT h.village_code, sum(h.threatened_people)::bigint AS people
FROM hazard_point h
WHERE h.village_code IS NOT NULL
GROUP BY h.village_code
ORDER BY h.village_code;
