-- Each shelter with the township its point lies in (NULL outside every township), whatever
-- unit its record names: capacity counts where the people can walk to it.
SELECT s.id, s.name, s.capacity, s.occupancy, s.capacity - s.occupancy AS free, t.code AS township_code
FROM shelter s
LEFT JOIN LATERAL (
    SELECT a.code FROM admin_unit a
    WHERE a.level = 'township' AND ST_Covers(a.geom, s.geom)
    ORDER BY a.code LIMIT 1
) t ON true
ORDER BY s.id;
