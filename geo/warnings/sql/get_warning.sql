SELECT w.*, ST_AsGeoJSON(w.geom, 6)::jsonb AS geometry FROM warning w WHERE w.id = %(id)s;
