INSERT INTO ws_site_downstream_path (site_id, toe_elevation_m, crest_elevation_m, max_distance_m,
                                     buffer_m, length_m, stop_reason, dem_path, computed_at, geom)
VALUES (%(site_id)s, %(toe)s, %(crest)s, %(max_distance_m)s, %(buffer_m)s, %(length_m)s,
        %(stop_reason)s, %(dem_path)s, %(at)s, ST_GeomFromText(%(wkt)s, 4326));
