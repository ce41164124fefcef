-- The catalogued DEMs (a county's own first, then the newest dataset's), for `riskmap risk build`
-- without a path. Demo DEMs are catalogued as 'dem-<county code>'.
SELECT r.id, r.path
FROM raster_layer r JOIN dataset d ON d.id = r.dataset_id
WHERE r.kind = 'dem'
ORDER BY (r.id = 'dem-' || coalesce(%(county)s, '')) DESC, d.loaded_at DESC, r.id;
