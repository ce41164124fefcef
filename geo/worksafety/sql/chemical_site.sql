-- A chemical installation's point and details, for its planning zone.
SELECT s.id, s.name, s.kind, ST_X(s.geom) AS lon, ST_Y(s.geom) AS lat, s.details
FROM hazardous_site s
WHERE s.id = %(site_id)s;
