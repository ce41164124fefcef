INSERT INTO ws_site_downstream (site_id, village_code, ord, distance_m, offset_m,
                                min_elevation_m, below_crest_m)
VALUES (%(site_id)s, %(code)s, %(ord)s, %(distance_m)s, %(offset_m)s, %(min_elevation_m)s,
        %(below_crest_m)s);
