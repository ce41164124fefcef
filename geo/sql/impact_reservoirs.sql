-- Reservoirs (stations of type RR) whose flood path reaches the affected villages
-- (station_village, relation 'downstream'), with the name shown to users.
SELECT DISTINCT s.stcd, s.stnm
FROM station_village sv JOIN station s ON s.stcd = sv.stcd
WHERE sv.village_code = ANY(%(codes)s) AND sv.relation = 'downstream' AND s.sttp = 'RR'
ORDER BY s.stcd;
