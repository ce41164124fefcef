-- The catalogued DEMs (newest dataset first), for `riskmap risk build` without a path.
SELECT r.id, r.path
FROM raster_layer r JOIN dataset d ON d.id = r.dataset_id
WHERE r.kind = 'dem'
ORDER BY d.loaded_at DESC, r.id;
