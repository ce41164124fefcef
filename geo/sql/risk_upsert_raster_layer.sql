INSERT INTO raster_layer (id, kind, path, crs, width, height, transform, units, sha256, dataset_id,
                          footprint)
VALUES (%(id)s, %(kind)s, %(path)s, %(crs)s, %(width)s, %(height)s, %(transform)s, %(units)s,
        %(sha256)s, %(dataset_id)s, ST_GeomFromWKB(%(footprint)s, 4326))
ON CONFLICT (id) DO UPDATE
SET kind = EXCLUDED.kind, path = EXCLUDED.path, crs = EXCLUDED.crs, width = EXCLUDED.width,
    height = EXCLUDED.height, transform = EXCLUDED.transform, units = EXCLUDED.units,
    sha256 = EXCLUDED.sha256, dataset_id = EXCLUDED.dataset_id, footprint = EXCLUDED.footprint;
