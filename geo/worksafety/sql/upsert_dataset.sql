-- The provenance row of a site configuration file (one dataset per site's file).
INSERT INTO dataset (id, title, synthetic, source, licence, attribution, params)
VALUES (%(id)s, %(title)s, %(synthetic)s, %(source)s, %(licence)s, %(attribution)s, %(params)s)
ON CONFLICT (id) DO UPDATE
SET title = EXCLUDED.title, synthetic = EXCLUDED.synthetic, source = EXCLUDED.source,
    licence = EXCLUDED.licence, attribution = EXCLUDED.attribution, params = EXCLUDED.params;
