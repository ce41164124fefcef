-- The provenance of what is loaded, with row counts of the main layers, for /api/datasets.
SELECT d.id, d.title, d.synthetic, d.source, d.licence, d.attribution, d.params,
       d.loaded_at,
       (SELECT count(*) FROM admin_unit a WHERE a.dataset_id = d.id AND a.level = 'village')
           AS villages
FROM dataset d
ORDER BY d.loaded_at, d.id;
