-- A warning's area (the polygon the rules drew), for distances to it.
SELECT ST_AsBinary(geom) AS geom FROM warning WHERE id = %(id)s;
