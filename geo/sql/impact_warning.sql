-- A warning's villages, hazard and area, for its impact summary.
SELECT village_codes, hazard, ST_AsBinary(geom) AS geom FROM warning WHERE id = %(id)s;
