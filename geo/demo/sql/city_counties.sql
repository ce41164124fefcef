-- The county-level units of a city that have villages loaded (GB/T 2260: the city's first four
-- digits), for building or reporting a whole city.
SELECT DISTINCT county_code FROM village WHERE left(county_code, 4) = left(%(city)s, 4)
ORDER BY county_code;
